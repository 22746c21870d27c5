"""Match interest keywords in resume text to suggest skills and areas of interest."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

MAX_KEYWORD_CHARS = 100


class InterestKeywords(NamedTuple):
    """What the parser needs of an Interest: its id, name and keywords."""

    id: int
    name: str
    keywords: list[str]


@lru_cache(maxsize=4096)
def keyword_pattern(keyword: str) -> re.Pattern[str] | None:
    """A case-insensitive whole-word pattern; "C" must not match inside "C++" or "C#"."""
    words = keyword.split()
    if not words or len(keyword) > MAX_KEYWORD_CHARS:
        return None
    body = r"\s+".join(re.escape(w) for w in words)
    return re.compile(rf"(?<!\w){body}(?![\w+#])", re.IGNORECASE)


def match_interests(
    text: str, interests: Sequence[InterestKeywords]
) -> tuple[list[str], list[int]]:
    """Return (keywords found, ids of interests with at least one keyword found), in order."""
    skills: list[str] = []
    seen: set[str] = set()
    ids: list[int] = []
    for interest in interests:
        matched = False
        for keyword in interest.keywords:
            if not isinstance(keyword, str):
                continue  # keywords come from a JSON column; be forgiving
            pattern = keyword_pattern(keyword.strip())
            if pattern is None or not pattern.search(text):
                continue
            matched = True
            key = keyword.strip().casefold()
            if key not in seen:
                seen.add(key)
                skills.append(" ".join(keyword.split()))
        if matched and interest.id not in ids:
            ids.append(interest.id)
    return skills, ids
