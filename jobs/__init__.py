"""Job postings, alert schedules, matching and the scheduler process."""

from __future__ import annotations

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
from jobs.scheduler import AlertScheduler, cron_trigger

__all__ = [
    "AlertRun",
    "AlertRunStatus",
    "AlertSchedule",
    "AlertScheduler",
    "DigestItem",
    "FrequencyClass",
    "JobMatch",
    "JobPage",
    "JobPosting",
    "cron_trigger",
    "get_job",
    "job_interests",
    "list_open_jobs",
    "open_jobs_for_interests",
    "schedule_interests",
]
