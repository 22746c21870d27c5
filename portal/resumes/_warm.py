"""Imported by the parse fork server only: parse a tiny resume once, before any child is forked.

Libraries load some data on first use (phone-number metadata, compiled patterns); done
here, every child forked afterwards has it already instead of loading it again.
"""

from __future__ import annotations

from portal.resumes.parse import parse_resume
from portal.resumes.skills import InterestKeywords

_SAMPLE = """Jane Doe
Senior Engineer
Berlin, Germany | +49 30 1234567 | +1 (415) 555-0100 | jane.doe@example.com
linkedin.com/in/janedoe | github.com/janedoe | https://janedoe.dev
Experience
Python, Go and SQL services; React front ends.
"""

parse_resume(_SAMPLE, [InterestKeywords(1, "Software Engineering", ["python", "go"])])
