"""Guess a person's name from the opening lines of a resume."""

from __future__ import annotations

import re

from portal.resumes.places import find_city_region, split_items
from portal.resumes.wordsets import word_set

# A word of a name: letters, with inner apostrophes, hyphens or dots ("O'Brien", "Álvarez-Núñez").
_NAME_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['\u2019.\-](?=[^\W\d_]))*\.?")
_INITIAL = re.compile(r"[^\W\d_]\.?")
_PARTICLES = word_set(
    """
    de da do dos das del della di du la le van von der den ten ter bin ibn al el y e
    """
)
_LABEL = re.compile(r"^\s*(?:full\s+)?name\s*[:|\-\u2013\u2014]\s*(.+)$", re.I)
_SEPARATORS = re.compile(r"\s*(?:[|•·,;]|\u2014|\u2013|\s-\s|\t|\s{3,})\s*")
# Words that show a line is a heading, a job title or an organisation rather than a name.
_NOT_NAME = word_set(
    """
    resume résumé curriculum vitae cv profile summary experience education skills
    contact contacts objective references projects work history employment
    certifications languages interests about page personal details information engineer
    developer manager designer analyst scientist consultant director specialist intern
    architect administrator coordinator officer assistant student teacher nurse lead
    senior junior principal staff software data product marketing sales full stack
    frontend backend technical university college school institute inc ltd llc gmbh corp
    company phone email mobile address location linkedin github portfolio website street
    road avenue professional career
    """
)
_HONORIFIC = re.compile(r"^(?:dr|mr|mrs|ms|miss|mx|prof|sir|dame)\.?\s+", re.I)
_PARENTHESES = re.compile(r"\s*\([^()]{0,40}\)")  # pronouns, nicknames: "Sam Lee (they/them)"
MAX_NAME_LINES = 8


def split_segments(line: str) -> list[str]:
    """Split a line on the separators resumes put between items ("|", "•", " - ", tabs...)."""
    return [s for s in _SEPARATORS.split(line.strip()) if s]


def _clean_word(word: str) -> str:
    letters = [c for c in word if c.isalpha()]
    if letters and all(c.isupper() for c in letters) and len(letters) > 1:
        # "ÁLVAREZ-NÚÑEZ" -> "Álvarez-Núñez"; str.title also capitalises after ' and -.
        return word.title()
    return word


def name_words(segment: str) -> list[str] | None:
    """Return the words of `segment` if it looks like a person's name, else None."""
    segment = _HONORIFIC.sub("", _PARENTHESES.sub("", segment)).strip()
    if len(segment) > 60:
        return None
    words = segment.split()
    if not 2 <= len(words) <= 5:
        return None
    if not all(_NAME_WORD.fullmatch(w) for w in words):
        return None
    if any(w.casefold().strip(".") in _NOT_NAME for w in words):
        return None
    full = [w for w in words if not _INITIAL.fullmatch(w)]
    if len(full) < 2:
        return None
    for word in words:
        if word[0].islower() and word.casefold() not in _PARTICLES:
            return None
    if words[0][0].islower():
        return None
    return [_clean_word(w) for w in words]


def split_name(words: list[str]) -> tuple[str, str]:
    """First word is the first name; the rest, less middle initials, is the last name."""
    rest = [w for w in words[1:] if not _INITIAL.fullmatch(w)]
    return words[0], " ".join(rest)


def find_name(lines: list[str]) -> tuple[str, str] | None:
    """Look at the first lines for a name ("San Francisco, CA" is a place, not a person)."""
    for line in lines[:MAX_NAME_LINES]:
        labelled = _LABEL.match(line)
        if labelled:
            segments = split_segments(labelled.group(1))
            words = name_words(segments[0]) if segments else None
            if words:
                return split_name(words)
            continue
        segments = split_segments(line)
        items = split_items(line)
        if not segments or (items and find_city_region(items[0])):
            continue
        words = name_words(segments[0])
        if words:
            return split_name(words)
    return None
