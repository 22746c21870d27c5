"""A job page's schema.org `JobPosting` (JSON-LD), as search engines' job listings read it.

Built from the posting and the company settings: what Google's job-posting guidelines
require (title, description, datePosted, hiringOrganization, jobLocation or, for a
remote job, jobLocationType TELECOMMUTE) and what they recommend (validThrough,
employmentType, baseSalary, identifier, directApply). Only open postings get one.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urljoin

from markupsafe import Markup

from jobs.models import JobPosting
from jobs.posting_fields import EmploymentType, Workplace, amount_number

# schema.org's employmentType values for ours.
EMPLOYMENT_TYPES: Final = {
    EmploymentType.FULL_TIME: "FULL_TIME",
    EmploymentType.PART_TIME: "PART_TIME",
    EmploymentType.CONTRACT: "CONTRACTOR",
    EmploymentType.TEMPORARY: "TEMPORARY",
    EmploymentType.INTERNSHIP: "INTERN",
}


def _address(location: str) -> dict[str, str]:
    """A PostalAddress from "City", "City, ST" or "City, Country" (what postings hold)."""
    parts = [p.strip() for p in location.split(",") if p.strip()]
    address = {"@type": "PostalAddress", "addressLocality": parts[0] if parts else location}
    if len(parts) > 1:
        last = parts[-1]
        # "Austin, TX": a region code; anything else is taken as the country.
        key = "addressRegion" if len(last) == 2 and last.isupper() else "addressCountry"
        address[key] = last
    return address


def _salary(job: JobPosting) -> dict[str, Any] | None:
    if job.salary_currency is None or job.salary_period is None:
        return None
    if job.salary_min is None and job.salary_max is None:
        return None
    value: dict[str, Any] = {"@type": "QuantitativeValue", "unitText": job.salary_period.upper()}
    if job.salary_min is not None:
        value["minValue"] = amount_number(job.salary_min)
    if job.salary_max is not None:
        value["maxValue"] = amount_number(job.salary_max)
    return {"@type": "MonetaryAmount", "currency": job.salary_currency, "value": value}


def job_posting_data(
    job: JobPosting,
    description_html: Markup,
    *,
    base_url: str,
    company_name: str,
    company_website: str,
    logo_url: str,
) -> dict[str, Any] | None:
    """The JSON-LD object for `job`'s page; None when the posting is not open."""
    if not job.is_open:
        return None
    organization: dict[str, Any] = {"@type": "Organization", "name": company_name}
    if company_website:
        organization["sameAs"] = company_website
    if logo_url:
        organization["logo"] = urljoin(base_url + "/", logo_url)
    data: dict[str, Any] = {
        "@context": "https://schema.org/",
        "@type": "JobPosting",
        "title": job.title,
        "description": str(description_html) or job.title,
        "datePosted": job.posted_at.isoformat(),
        "hiringOrganization": organization,
        "identifier": {"@type": "PropertyValue", "name": company_name, "value": job.reference},
        # Applying happens at the apply URL (the applicant-tracking system), not on this page.
        "directApply": False,
    }
    if job.valid_through is not None:
        data["validThrough"] = job.valid_through.isoformat()
    if job.workplace is Workplace.REMOTE:
        data["jobLocationType"] = "TELECOMMUTE"
        if job.location:
            # For a remote job the location says where applicants may live.
            data["applicantLocationRequirements"] = {"@type": "Country", "name": job.location}
    elif job.location:
        data["jobLocation"] = {"@type": "Place", "address": _address(job.location)}
    if job.employment_type is not None:
        data["employmentType"] = EMPLOYMENT_TYPES[job.employment_type]
    salary = _salary(job)
    if salary is not None:
        data["baseSalary"] = salary
    return data
