# ruff: noqa: RUF001, RUF002  (word lists and examples in many scripts)
"""Guess a person's name from the opening lines of a resume.

The PDF extractor puts the name block (the largest type near the top of page 1) first,
so the first lines are where the name is. A line is a name when its words look like
one: capitalised words of any alphabet (accents, Cyrillic, Greek, Arabic, Devanagari),
particles ("de la", "van der"), or two to four CJK characters written without a space
(family name first). Headings in several languages and places from the gazetteer are
never names, nor are job titles ("UX Researcher", "Yazılım Mühendisi"). Titles ("Dr.",
"Prof. Dr.") and suffixes ("Jr.", "III", "PhD") are dropped, and the last name starts at a
particle ("bin Abdullah", "al-Qahtani", "von Haller"), using nameparser's word lists. A name
set on two lines ("Mehmet" / "Yılmaz") is read as one.

Position settles which line is the name: the extractors put the name block (the largest
type, a Word Title) first, so a name-shaped line at the top wins. When the top line is
something else and two different lines below look equally like names, the e-mail address
may tell them apart; if it does not, no name is suggested: an empty field is better than a
wrong one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from nameparser.config import CONSTANTS

from portal.resumes.gazetteer import gazetteer
from portal.resumes.places import find_city_region, split_items
from portal.resumes.wordsets import word_set

_INITIAL = re.compile(r"[^\W\d_]\.?")
_INNER = "'\u2019.-"
_PARTICLES = word_set(
    """
    de da do dos das del della di du la le van von der den ten ter bin ibn al el y e
    """
) | frozenset(p for p in CONSTANTS.prefixes if p[-1] not in "-'’")
# Particles that may be written with a capital ("Muhammad Hafiz Bin Abdullah").
_CAPITAL_PARTICLES = frozenset({"bin", "binti", "binte", "bint", "ibn"})
# Particles joined to the name: "al-Qahtani", "d'Alembert", "el-Sayed".
_JOINED_PARTICLE = re.compile(r"^([^\W\d_]{1,4}['’-])(?=[^\W\d_])")
_JOINED_PREFIXES = frozenset(p for p in CONSTANTS.prefixes if p[-1] in "-'’")
# nameparser's titles, plus the academic ones of central Europe and Latin countries that it
# lacks ("Ing. Tomáš Dvořák", "Mgr.", "Dipl.-Ing.", "Eng.ª").
_TITLES = frozenset(CONSTANTS.titles) | word_set(
    """
    ing dipl mgr bc mudr judr phdr rndr mvdr paeddr doc lic arch eng dott dra ing.ª eng.ª
    """
)
_SUFFIXES = frozenset(s for s in CONSTANTS.suffix_not_acronyms if len(s) > 1 and s.isalpha())
_SUFFIX_ACRONYMS = frozenset(CONSTANTS.suffix_acronyms)
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
    road avenue professional career researcher writer editor accountant recruiter
    programmer technician strategist founder cofounder co-founder executive representative
    associate advisor adviser expert freelancer illustrator photographer journalist lawyer
    attorney paralegal pharmacist physician surgeon therapist psychologist economist chemist
    biologist physicist statistician planner operator mechanic electrician receptionist
    secretary tester devops reliability site cloud security network systems solutions support
    customer success operations research ux ui graphic web mobile machine learning business
    finance financial account accounts recruitment hr qa quality owner head chief vp cto ceo
    cfo coo
    ingeniero ingeniera desarrollador desarrolladora analista diseñador diseñadora gerente
    ingénieur ingénieure développeur développeuse cheffe consultante architecte chargé chargée
    entwickler entwicklerin ingenieur ingenieurin berater beraterin leiter leiterin
    sviluppatore sviluppatrice ingegnere engenheiro engenheira desenvolvedor desenvolvedora
    mühendis mühendisi yazılım geliştirici uzman uzmanı yönetici
    inżynier programista programistka specjalista kierownik
    ingenjör utvecklare systemutvecklare projektledare
    разработчик разработчица инженер аналитик менеджер программист
    розробник розробниця інженер аналітик
    kỹ sư lập trình viên
    μηχανικός προγραμματιστής αναλυτής
    مهندس مهندسة مطور مطورة محلل محللة مدير مديرة مصمم مصممة
    מהנדס מהנדסת מפתח מפתחת מנהל מנהלת
    इंजीनियर इन्जिनियर सफ्टवेयर सॉफ्टवेयर डेवलपर विश्लेषक प्रबंधक
    lebenslauf bewerbung anschreiben persönliche daten berufserfahrung ausbildung
    currículum curriculum hoja vida perfil experiencia educación formación datos
    curriculo currículo profil expérience compétences formation esperienza istruzione
    резюме опыт образование навыки контакты автобиография
    βιογραφικό σημείωμα εμπειρία εκπαίδευση
    السيرة الذاتية سيرة ذاتية الخبرة التعليم
    बायोडाटा जीवनवृत्त अनुभव शिक्षा
    """
)
# Endings of compound job titles ("Projektleiterin", "Softwareentwickler", "Systemutvecklare").
_JOB_ENDINGS = (
    "entwickler",
    "entwicklerin",
    "leiter",
    "leiterin",
    "berater",
    "beraterin",
    "ingenieur",
    "ingenieurin",
    "utvecklare",
    "ingenjör",
    "analytiker",
    "analytikerin",
    "informatiker",
    "informatikerin",
    "manager",
    "managerin",
    "designer",
    "designerin",
    "mühendisi",
)


def _not_name_word(word: str) -> bool:
    """A heading, job or organisation word, or a compound ending in a job word."""
    folded = word.casefold().strip(".")
    if folded in _NOT_NAME:
        return True
    return any(folded.endswith(e) and len(folded) > len(e) + 2 for e in _JOB_ENDINGS)


# Whole-line headings in scripts without spaces between words.
_CJK_HEADINGS = word_set(
    """
    简历 個人簡歷 个人简历 簡歷 履歴書 職務経歴書 이력서 자기소개서 工作经历 教育背景 联系方式
    """
)
# Job words in scripts without spaces between words; a CJK "name" holding one is a title.
_CJK_JOB_WORDS = (
    "工程师",
    "エンジニア",
    "개발자",
    "엔지니어",
    "디자이너",
    "매니저",
    "분석가",
    "연구원",
)
# Common Vietnamese family names, written with their diacritics: "Phạm Thu Hà" is family
# name first. Without diacritics ("Thu Ha Pham") the order is taken to be the Western one.
_VIETNAMESE_FAMILY = word_set(
    """
    nguyễn trần lê phạm hoàng huỳnh phan vũ võ đặng bùi đỗ hồ ngô dương lý đinh đào trương
    lâm trịnh lương đoàn
    """
)
_VIETNAMESE_LETTERS = re.compile("[ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđơưăĐƠƯĂ]")
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
    labelled: bool = False


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
    words = _without_titles(segment.split())
    if not 2 <= len(words) <= 5:
        return None
    if not all(_is_name_word(w) for w in words):
        return None
    if any(_not_name_word(w) for w in words):
        return None
    full = [w for w in words if not _INITIAL.fullmatch(w)]
    if len(full) < 2:
        return None
    for word in words:
        if word[0].islower() and not _is_particle(word):
            return None
    if words[0][0].islower() or _is_place(segment):
        return None
    return [_clean_word(w) for w in words]


def _is_particle(word: str) -> bool:
    """ "von", "de", "bin"; or a particle joined to the name ("al-Qahtani", "d'Alembert")."""
    folded = word.casefold()
    if folded in _PARTICLES:
        return True
    joined = _JOINED_PARTICLE.match(folded)
    return joined is not None and joined.group(1).replace("\u2019", "'") in _JOINED_PREFIXES


def _is_title(word: str) -> bool:
    """ "Dr.", "Prof.", "Ing.", "Dipl.-Ing.": each part a title from the list."""
    parts = [p for p in word.casefold().replace("-", ".").split(".") if p]
    return bool(parts) and all(p in _TITLES for p in parts)


def _without_titles(words: list[str]) -> list[str]:
    """Drop leading titles ("Dr.", "Prof. Dr.", "Ing.") and trailing suffixes ("Jr.", "III",
    ", PhD"), as nameparser lists them; a title counts only as an abbreviation with a dot,
    so that "Dean" or "King" stays a name."""
    words = list(words)
    while len(words) > 2 and words[0].endswith(".") and _is_title(words[0]):
        words.pop(0)
    while len(words) > 2:
        last = words[-1].strip(",.")
        folded = last.casefold().replace(".", "")
        acronym = folded in _SUFFIX_ACRONYMS and sum(c.isupper() for c in last) >= 2
        if not (folded in _SUFFIXES or acronym):
            break
        words.pop()
    if words:
        words[-1] = words[-1].rstrip(",")
    return words


def split_name(words: list[str]) -> tuple[str, str]:
    """First word is the first name; the rest, less middle initials, is the last name.

    The last name starts at a particle ("Muhammad Hafiz" / "bin Abdullah"). Four words
    without particles are two given names and two surnames, the Spanish and Portuguese
    convention ("José Doroteo Arango Arámbula"). A Vietnamese name written with its
    diacritics and a common family name first is family name first ("Phạm" / "Thu Hà").
    """
    if (
        len(words) >= 2
        and words[0].casefold() in _VIETNAMESE_FAMILY
        and _VIETNAMESE_LETTERS.search(" ".join(words))
    ):
        return " ".join(words[1:]), words[0]
    for at in range(1, len(words) - 1):
        word = words[at]
        if (word[0].islower() and _is_particle(word)) or word.casefold() in _CAPITAL_PARTICLES:
            given = [w for w in words[:at] if not _INITIAL.fullmatch(w)] or words[:1]
            return " ".join(given), " ".join(words[at:])
    rest = [w for w in words[1:] if not _INITIAL.fullmatch(w)]
    if len(words) == 4 and len(rest) == 3 and not any(w.casefold() in _PARTICLES for w in words):
        return " ".join(words[:2]), " ".join(words[2:])
    return words[0], " ".join(rest)


def cjk_name(segment: str) -> tuple[str, str] | None:
    """A Chinese, Japanese or Korean name, family name first: (given, family) or None."""
    text = segment.strip()
    if text in _CJK_HEADINGS or _is_place(text) or any(w in text for w in _CJK_JOB_WORDS):
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


def _line_name(line: str) -> tuple[str, str, bool] | None:
    labelled = _LABEL.match(line)
    segments = split_segments(labelled.group(1) if labelled else line)
    items = split_items(line)
    if not segments or (not labelled and items and find_city_region(items[0])):
        return None
    cjk = cjk_name(segments[0])
    if cjk:
        return (*cjk, bool(labelled))
    words = name_words(segments[0])
    return (*split_name(words), bool(labelled)) if words else None


def _name_part(line: str) -> bool:
    """One capitalised word alone on a line, that may be half of a name set on two lines."""
    word = line.strip()
    return (
        " " not in word
        and 2 <= len(word) <= 30
        and _is_name_word(word)
        and word[0].isupper()
        and not _not_name_word(word)
    )


def _is_heading(line: str) -> bool:
    """A title line such as "Curriculum Vitae", "RESUME", "Lebenslauf" or "简历"."""
    words = line.strip().rstrip(":").split()
    if not words or len(words) > 3 or line.strip() in _CJK_HEADINGS:
        return bool(words) and line.strip() in _CJK_HEADINGS
    return all(w.casefold() in _NOT_NAME for w in words)


# Letters NFKD does not take apart, as e-mail addresses spell them.
_LATIN_FOLD = str.maketrans(
    {"ı": "i", "ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe"}
)


def _folded(text: str) -> str:
    """Lower-case ASCII letters only, for comparing a name with an e-mail address."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LATIN_FOLD))
    return "".join(c for c in decomposed if "a" <= c <= "z")


def _matches_email(found: FoundName, email: str) -> bool:
    local = _folded(email.partition("@")[0])
    words = [_folded(w) for w in f"{found.first} {found.last}".split()]
    return bool(local) and any(len(w) >= 3 and w in local for w in words)


def _one_name(first: str, second: str, email: str | None) -> bool:
    """Whether two one-word lines are one name: not when the e-mail names only one of them
    ("Madonna" / "Singer" with madonna@…)."""
    if not (_name_part(first) and _name_part(second)) or _is_place(second):
        return False
    local = _folded(email.partition("@")[0]) if email else ""
    named = [len(_folded(w)) >= 3 and _folded(w) in local for w in (first, second)]
    return named[0] == named[1]


def _candidates(lines: list[str], email: str | None) -> list[FoundName]:
    """Name-shaped lines among the first ones, a name on two lines joined, in order."""
    found: list[FoundName] = []
    window = lines[:MAX_NAME_LINES]
    index = 0
    while index < len(window):
        line = window[index]
        nxt = window[index + 1] if index + 1 < len(window) else ""
        if _one_name(line, nxt, email):
            joined = _line_name(f"{line.strip()} {nxt.strip()}")
            if joined:
                found.append(FoundName(joined[0], joined[1], index, joined[2]))
                index += 2
                continue
        one = _line_name(line)
        if one:
            found.append(FoundName(one[0], one[1], index, one[2]))
        index += 1
    return found


def find_name(lines: list[str], email: str | None = None) -> FoundName | None:
    """Look at the first lines for a name ("San Francisco, CA" is a place, not a person).

    A labelled name ("Name: …") or a name on the top line (after a heading such as
    "Curriculum Vitae") is taken. Otherwise a single name-shaped line is; of two or more,
    the one the e-mail address names, and if that does not settle it, none.
    """
    candidates = _candidates(lines, email)
    for candidate in candidates:
        if candidate.labelled:
            return candidate
    top = next((i for i, line in enumerate(lines[:MAX_NAME_LINES]) if not _is_heading(line)), 0)
    if candidates:
        first = candidates[0]
        if first.line <= top or len(candidates) == 1:
            return first
        by_email = [c for c in candidates if email and _matches_email(c, email)]
        return by_email[0] if len(by_email) == 1 else None
    if lines:
        segments = split_segments(lines[0])
        alone = single_name(segments[0]) if len(segments) == 1 else None
        if alone:
            return FoundName(alone, "", 0)
    return None
