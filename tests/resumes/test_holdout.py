# ruff: noqa: RUF001  (test data in several scripts)
"""Rules found by the hold-out corpus (issue 20, part C): name ties, titles and suffixes,
particles, the DOCX name block, and places and phones the tuned corpus did not show."""

from __future__ import annotations

import io
from pathlib import Path

import docx
import pytest
from docx.shared import Pt

from portal.resumes import parse_resume
from portal.resumes.docx_text import docx_text
from portal.resumes.names import find_name


def name_of(text: str) -> tuple[str | None, str | None]:
    parsed = parse_resume(text, [])
    return parsed.first_name, parsed.last_name


# --- names: ties, job titles, position ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        # The top line wins over a name-shaped headline under it.
        ("Zoë O'Brien\nMorgan Stanley\nzoe@example.fr", "Zoë", "O'Brien"),
        # Job titles are not names, in several languages.
        ("Skills\nUX Researcher\nZoë O'Brien\nz@example.fr", "Zoë", "O'Brien"),
        ("Contact\nYazılım Mühendisi\nMehmet Yılmaz\nm@example.com.tr", "Mehmet", "Yılmaz"),
        ("Resume\nSite Reliability Engineer\nRobert Hughes\nr@example.com", "Robert", "Hughes"),
        (
            "Lebenslauf\nProjektleiterin Softwareentwicklung\nAnna Schmidt\na@example.de",
            "Anna",
            "Schmidt",
        ),
        # Below a non-name top line, the e-mail address tells two candidates apart.
        (
            "+1 415 555 0100\nMorgan Stanley\nTaylor Brooks\ntaylor.brooks@example.com",
            "Taylor",
            "Brooks",
        ),
        # A labelled name beats a name-shaped line above it.
        ("Morgan Stanley\nName: Lee Park\nlee@example.com", "Lee", "Park"),
    ],
)
def test_name_ties_are_broken_by_position_email_and_job_words(
    text: str, first: str, last: str
) -> None:
    assert name_of(text) == (first, last)


def test_truly_ambiguous_names_are_left_empty() -> None:
    """The top line is no name; two name-shaped lines follow; the e-mail names neither."""
    assert name_of("+1 415 555 0100\nMorgan Stanley\nTaylor Brooks\nx42@example.com") == (
        None,
        None,
    )
    assert find_name(["+1 415 555 0100", "Morgan Stanley", "Taylor Brooks"]) is None


def test_a_single_candidate_below_the_top_is_taken() -> None:
    assert name_of("+1 415 555 0100\nTaylor Brooks\nx42@example.com") == ("Taylor", "Brooks")


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("Mehmet\nYılmaz\nYazılım Mühendisi\nmehmet.yilmaz@example.com.tr", "Mehmet", "Yılmaz"),
        ("ANNA\nKOWALSKA\nanna.kowalska@example.pl", "Anna", "Kowalska"),
        ("Anna\nKowalska\n+48 512 345 678", "Anna", "Kowalska"),
        ("Madonna\nSinger\nmadonna@example.com", "Madonna", None),
        ("Suharti\nJakarta\nsuharti@example.co.id", "Suharti", None),
    ],
)
def test_a_name_on_two_lines_is_one_name(text: str, first: str, last: str | None) -> None:
    assert name_of(text) == (first, last)


# --- names: titles, suffixes and particles (nameparser's word lists) ---------------------


@pytest.mark.parametrize(
    ("line", "first", "last"),
    [
        ("Dr. Friederike von Haller", "Friederike", "von Haller"),
        ("Prof. Dr. Hans Meier", "Hans", "Meier"),
        ("Mag. Pavel Novák", "Pavel", "Novák"),
        ("Ing. Tomáš Dvořák", "Tomáš", "Dvořák"),
        ("Dipl.-Ing. Anna Berger", "Anna", "Berger"),
        ("Robert T. Hughes Jr.", "Robert", "Hughes"),
        ("Jane Smith, PhD", "Jane", "Smith"),
        ("John Smith III", "John", "Smith"),
        ("Dean Martin", "Dean", "Martin"),
        ("Muhammad Hafiz bin Abdullah", "Muhammad Hafiz", "bin Abdullah"),
        ("Nur Aisyah Binti Ismail", "Nur Aisyah", "Binti Ismail"),
        ("Khalid al-Qahtani", "Khalid", "al-Qahtani"),
        ("Omar ibn Said", "Omar", "ibn Said"),
        ("Jean d'Alembert", "Jean", "d'Alembert"),
        ("Jean-Luc Fontaine", "Jean-Luc", "Fontaine"),
        ("Juan Carlos de la Fuente", "Juan Carlos", "de la Fuente"),
        ("Phạm Thu Hà", "Thu Hà", "Phạm"),
        ("Thu Ha Pham", "Thu", "Ha Pham"),
    ],
)
def test_titles_suffixes_and_particles(line: str, first: str, last: str) -> None:
    assert name_of(f"{line}\nname@example.org") == (first, last)


# --- DOCX: the name block is read first --------------------------------------------------


def _docx(tmp_path: Path, build: object) -> str:
    document = docx.Document()
    build(document)  # type: ignore[operator]
    raw = io.BytesIO()
    document.save(raw)
    path = tmp_path / "cv.docx"
    path.write_bytes(raw.getvalue())
    return docx_text(path, max_chars=10_000)


def test_docx_title_style_is_read_first_wherever_it_sits(tmp_path: Path) -> None:
    def build(document: docx.document.Document) -> None:
        document.add_paragraph("Hà Nội, Việt Nam | 0912 345 678")
        document.add_paragraph("Kỹ sư phần mềm")
        document.add_paragraph("Phạm Thu Hà", style="Title")
        document.add_paragraph("Summary")

    lines = _docx(tmp_path, build).splitlines()
    assert lines[:3] == ["Phạm Thu Hà", "Hà Nội, Việt Nam | 0912 345 678", "Kỹ sư phần mềm"]


def test_docx_title_style_by_its_name_in_a_localised_word(tmp_path: Path) -> None:
    """A German Word calls the style's id "Titel"; its w:name is still "Title"."""

    def build(document: docx.document.Document) -> None:
        styles = document.styles.element
        for style in styles.iter(
            "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}style"
        ):
            if (
                style.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}styleId")
                == "Title"
            ):
                style.set(
                    "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}styleId", "Titel"
                )
        document.add_paragraph("Kontakt: 030 1234567")
        paragraph = document.add_paragraph("Anna Schmidt")
        paragraph._p.get_or_add_pPr().get_or_add_pStyle().val = "Titel"

    assert _docx(tmp_path, build).splitlines()[0] == "Anna Schmidt"


def test_docx_largest_run_near_the_top_is_read_first(tmp_path: Path) -> None:
    def build(document: docx.document.Document) -> None:
        document.add_heading("Curriculum Vitae", level=1)
        document.add_paragraph("P.O. Box 12345-80100, Mombasa")
        document.add_paragraph().add_run("Wanjiku Kamau").font.size = Pt(26)
        document.add_paragraph().add_run("Finance Analyst").font.size = Pt(12)

    assert _docx(tmp_path, build).splitlines()[:2] == ["Wanjiku Kamau", "Curriculum Vitae"]


def test_docx_without_a_clear_name_block_keeps_its_order(tmp_path: Path) -> None:
    """Two runs equally large, or none large enough: nothing moves."""

    def build(document: docx.document.Document) -> None:
        document.add_paragraph("Line one")
        document.add_paragraph().add_run("Big A").font.size = Pt(20)
        document.add_paragraph().add_run("Big B").font.size = Pt(20)
        document.add_paragraph().add_run("small").font.size = Pt(9)

    assert _docx(tmp_path, build).splitlines() == ["Line one", "Big A", "Big B", "small"]


# --- places and phones --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "location"),
    [
        ("Jane Doe\nP.O. Box 12345-80100, Mombasa\nj@example.co.ke", "Mombasa, Kenya"),
        ("Jane Doe\n4700-320 Braga\nj@example.pt", "Braga, Portugal"),
        ("Jane Doe\nBrisbane QLD 4000\nj@example.com.au", "Brisbane, Australia"),
        ("Jane Doe\nHà Nội, Việt Nam | j@example.vn", "Hà Nội, Việt Nam"),
        (
            "Jane Doe\nGoogle, Mountain View, CA\nDenver, CO · j@example.com",
            "Denver, CO",
        ),
    ],
)
def test_holdout_places(text: str, location: str) -> None:
    assert parse_resume(text, []).location == location


def test_a_date_range_is_not_a_phone() -> None:
    text = (
        "Anna Schmidt\nanna@example.de\nBerufserfahrung\n09/2016 – 02/2020\nKontakt\n0341 1234567"
    )
    assert parse_resume(text, []).phone == "+493411234567"
