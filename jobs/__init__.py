"""Job postings, alert schedules, matching and the scheduler process."""

from __future__ import annotations

from jobs.alerts import (
    AlertRunSummary,
    AudiencePreview,
    SampleRecipient,
    preview_schedule,
    run_instant,
    run_schedule,
)
from jobs.errors import AlertError, JobsError, ScheduleError, ScheduleNotFound
from jobs.models import (
    AlertRun,
    AlertRunStatus,
    AlertSchedule,
    DigestItem,
    FrequencyClass,
    JobPosting,
    job_interests,
    schedule_interests,
)
from jobs.postings import JobMatch, JobPage, get_job, list_open_jobs, open_jobs_for_interests
from jobs.privacy import DIGEST_DATA
from jobs.scheduler import AlertScheduler, cron_trigger

# DIGEST_DATA: importing any part of jobs registers the digest items' export and erasure
# hook, after mailer's (jobs.alerts imports mailer first), so exports list emails first.
__all__ = [
    "DIGEST_DATA",
    "AlertError",
    "AlertRun",
    "AlertRunStatus",
    "AlertRunSummary",
    "AlertSchedule",
    "AlertScheduler",
    "AudiencePreview",
    "DigestItem",
    "FrequencyClass",
    "JobMatch",
    "JobPage",
    "JobPosting",
    "JobsError",
    "SampleRecipient",
    "ScheduleError",
    "ScheduleNotFound",
    "cron_trigger",
    "get_job",
    "job_interests",
    "list_open_jobs",
    "open_jobs_for_interests",
    "preview_schedule",
    "run_instant",
    "run_schedule",
    "schedule_interests",
]
