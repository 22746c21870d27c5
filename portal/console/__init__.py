"""Recruiter-side services behind the console: imports, job records, recruiter admin, charts."""
