"""Guess a person's name from the opening lines of a resume.

The PDF extractor puts the name block (the largest type near the top of page 1) first,
so the first lines are where the name is. A line is a name when its words look like
one: capitalised words of any alphabet (accents, Cyrillic, Greek, Arabic, Devanagari),
particles ("de la", "van der"), or two to four CJK characters written without a space
(family name first). Headings in several languages and places from the gazetteer are
never names. When two different lines look equally like names and nothing sets one
apart, no name is suggested: an empty field is better than a wrong one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from portal.resumes.gazetteer import gazetteer
from portal.resumes.places import find_city_region, split_items
from portal.resumes.wordsets import word_set

_INITIAL = re.compile(r"[^\W\d_]\.?")
_INNER = "'\u2019.-"
_PARTICLES = word_set(
    """
    de da do dos das del della di du la le van von der den ten ter bin ibn al el y e
    """
)
_LABEL = re.compile(
    r"^\s*(?:full\s+)?(?:name|nom|nombre|nome|vorname\s+name|имя|фио)\s*[:|\-\u2013\u2014]\s*(.+)$",
    re.I,
)
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
    lebenslauf bewerbung anschreiben persönliche daten berufserfahrung ausbildung
    currículum curriculum hoja vida perfil experiencia educación formación datos
    curriculo currículo profil expérience compétences formation esperienza istruzione
    резюме опыт образование навыки контакты автобиография
    βιογραφικό σημείωμα εμπειρία εκπαίδευση
    السيرة الذاتية سيرة ذاتية الخبرة التعليم
    बायोडाटा जीवनवृत्त अनुभव शिक्षा
    """
)
# Whole-line headings in scripts without spaces between words.
_CJK_HEADINGS = word_set(
    """
    简历 個人簡歷 个人简历 簡歷 履歴書 職務経歴書 이력서 자기소개서 工作经历 教育背景 联系方式
    """
)
# Two-character Chinese family names; any other family name is one character.
_CJK_COMPOUND_SURNAMES = word_set(
    """
    欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 令狐 歐陽 司馬 諸葛 東方 長孫
    """
)
_HAN = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
_HANGUL = re.compile(r"^[\uac00-\ud7af]{2,4}$")
_CJK_WORD = re.compile(r"^[\u4e00-\u9fff\u3040-\u30ff\uac00-\ud7af]{1,4}$")
_HONORIFIC = re.compile(r"^(?:dr|mr|mrs|ms|miss|mx|prof|sir|dame)\.?\s+", re.I)
_PARENTHESES = re.compile(r"\s*\([^()]{0,40}\)")  # pronouns, nicknames: "Sam Lee (they/them)"
MAX_NAME_LINES = 8


@dataclass(frozen=True)
class FoundName:
    first: str
    last: str
    line: int


def split_segments(line: str) -> list[str]:
    """Split a line on the separators resumes put between items ("|", "•", " - ", tabs...)."""
    return [s for s in _SEPARATORS.split(line.strip()) if s]


def _is_name_word(word: str) -> bool:
    """Letters (and their combining marks) of any script, with inner ' - . ("O'Brien")."""
    word = word.rstrip(".")
    if not word or not word[0].isalpha():
        return False
    previous = ""
    for char in word:
        if char.isalpha() or unicodedata.category(char).startswith("M"):
            previous = char
            continue
        if char in _INNER and previous not in _INNER:
            previous = char
            continue
        return False
    return previous not in _INNER


def _clean_word(word: str) -> str:
    letters = [c for c in word if c.isalpha()]
    if letters and all(c.isupper() for c in letters) and len(letters) > 1:
        # "ÁLVAREZ-NÚÑEZ" -> "Álvarez-Núñez"; str.title also capitalises after ' and -.
        return word.title()
    return word


def _is_place(text: str) -> bool:
    return gazetteer().city(text) is not None or gazetteer().country(text) is not None


def name_words(segment: str) -> list[str] | None:
    """Return the words of `segment` if it looks like a person's name, else None."""
    segment = _HONORIFIC.sub("", _PARENTHESES.sub("", segment)).strip()
    if len(segment) > 60:
        return None
    words = segment.split()
    if not 2 <= len(words) <= 5:
        return None
    if not all(_is_name_word(w) for w in words):
        return None
    if any(w.casefold().strip(".") in _NOT_NAME for w in words):
        return None
    full = [w for w in words if not _INITIAL.fullmatch(w)]
    if len(full) < 2:
        return None
    for word in words:
        if word[0].islower() and word.casefold() not in _PARTICLES:
            return None
    if words[0][0].islower() or _is_place(segment):
        return None
    return [_clean_word(w) for w in words]


def split_name(words: list[str]) -> tuple[str, str]:
    """First word is the first name; the rest, less middle initials, is the last name.

    Four words without particles are two given names and two surnames, the Spanish and
    Portuguese convention ("José Doroteo Arango Arámbula").
    """
    rest = [w for w in words[1:] if not _INITIAL.fullmatch(w)]
    if len(words) == 4 and len(rest) == 3 and not any(w.casefold() in _PARTICLES for w in words):
        return " ".join(words[:2]), " ".join(words[2:])
    return words[0], " ".join(rest)


def cjk_name(segment: str) -> tuple[str, str] | None:
    """A Chinese, Japanese or Korean name, family name first: (given, family) or None."""
    text = segment.strip()
    if text in _CJK_HEADINGS or _is_place(text):
        return None
    parts = text.split()
    if len(parts) == 2 and all(_CJK_WORD.match(p) for p in parts):
        return parts[1], parts[0]  # "田中 太郎": family name, then given name
    if len(parts) != 1:
        return None
    if _HAN.match(text):
        family = 2 if text[:2] in _CJK_COMPOUND_SURNAMES and len(text) > 2 else 1
        return text[family:], text[:family]
    if _HANGUL.match(text):
        return text[1:], text[:1]
    return None


def single_name(segment: str) -> str | None:
    """One name alone on the first line ("Madonna"), not a heading or a place."""
    word = _PARENTHESES.sub("", segment).strip()
    if " " in word or not 2 <= len(word) <= 30 or not _is_name_word(word):
        return None
    if word.casefold() in _NOT_NAME or _is_place(word) or not word[0].isupper():
        return None
    if word.isupper() and len(word) <= 4:
        return None  # "CV", "HR": an abbreviation
    return _clean_word(word)


def _line_name(line: str) -> tuple[str, str] | None:
    labelled = _LABEL.match(line)
    segments = split_segments(labelled.group(1) if labelled else line)
    items = split_items(line)
    if not segments or (not labelled and items and find_city_region(items[0])):
        return None
    cjk = cjk_name(segments[0])
    if cjk:
        return cjk
    words = name_words(segments[0])
    return split_name(words) if words else None


def find_name(lines: list[str]) -> FoundName | None:
    """Look at the first lines for a name ("San Francisco, CA" is a place, not a person)."""
    for index, line in enumerate(lines[:MAX_NAME_LINES]):
        found = _line_name(line)
        if found:
            return FoundName(found[0], found[1], index)
    if lines:
        segments = split_segments(lines[0])
        alone = single_name(segments[0]) if len(segments) == 1 else None
        if alone:
            return FoundName(alone, "", 0)
    return None
