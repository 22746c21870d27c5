"""Imported by the parse fork server only: load what parsing needs once, before any fork.

The gazetteer (GeoNames cities, about a second to build) and the libraries' data loaded
on first use (phone-number metadata, compiled patterns, pdfminer's modules) are made
here, so every child forked afterwards shares them instead of loading them again. Web
processes never import this module.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc

import pdfminer.layout  # noqa: F401  (imported here so no child imports it)

from portal.resumes.gazetteer import gazetteer
from portal.resumes.parse import parse_resume
from portal.resumes.skills import InterestKeywords

_SAMPLE = """Jane Doe
Senior Engineer
Berlin, Germany | +49 30 1234567 | +1 (415) 555-0100 | jane.doe@example.com
linkedin.com/in/janedoe | github.com/janedoe | https://janedoe.dev
Experience
Python, Go and SQL services; React front ends.
"""

gazetteer()
parse_resume(_SAMPLE, [InterestKeywords(1, "Software Engineering", ["python", "go"])])

# Children must not copy the server's memory: the collector would write to the header
# of every object it visits (a page copied per touch), so what exists now is set aside
# for good, and the heap the JSON parse left behind goes back to the system.
gc.collect()
gc.freeze()
with contextlib.suppress(OSError, AttributeError):
    ctypes.CDLL("libc.so.6").malloc_trim(0)
