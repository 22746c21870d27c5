# ruff: noqa: RUF001  (Cyrillic and Greek test data look like Latin letters)
"""Resumes from around the world: normalization, phones, places and names (issue 20)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from portal.resumes import parse_resume
from portal.resumes.parse import prepare_text

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Jo\u00adhann Schmidt", "Johann Schmidt"),
        ("Jane\tDoe", "Jane Doe"),
        ("Jane\rDoe\r\njane@example.com", "Jane Doe\njane@example.com"),
        ("Phone:\t+1 415 555 2671", "Phone:\t+1 415 555 2671"),
        ("J O H N   D O E", "JOHN DOE"),
        ("M A R I A  G A R C Í A\nMadrid", "MARIA GARCÍA\nMadrid"),
        ("Jane\u00a0Doe", "Jane Doe"),
        ("a\rb\rc\n", "a\nb\nc\n"),
        ("\u2709 lea@example.ch \u260e 079 123 45 67", "   lea@example.ch   079 123 45 67"),
        ("D I S E Ñ O  G R Á F I C O  Y  U X", "DISEÑO GRÁFICO Y UX"),
    ],
)
def test_text_is_normalized(raw: str, clean: str) -> None:
    """Soft hyphens go, Word's tabs and CRs between words are spaces, letter-spacing collapses."""
    assert prepare_text(raw) == clean


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("Anna Meier\n8001 Zürich\n079 123 45 67", "+41791234567"),
        ("Giulia Bianchi\nMilano | 02 1234 5678", "+390212345678"),
        ("Marc Dubois\nTél. 06 12 34 56 78\nmarc@example.fr", "+33612345678"),
        ("Иван Петров\nМосква\n8 (495) 123-45-67", "+74951234567"),
        ("Hans Weber\nOffice +49 30 1234567\nMobil 0151 23456789", "+49301234567"),
        ("Jane Doe\n+1\u2010415\u2010555\u20102671", "+14155552671"),
        ("Jane Doe\n+44 20 7946\u22120958", "+442079460958"),
        ("王伟\n北京市朝阳区\n138 0013 8000", "+8613800138000"),
        ("Lea Brunner\nlea@example.ch   079 123 45 67   8001 Zürich", "+41791234567"),
    ],
)
def test_phone_region_comes_from_the_resume(text: str, phone: str) -> None:
    """Numbers without a country code are read with the country the resume points to."""
    assert parse_resume(text, [], default_region="US").phone == phone


def test_unplaceable_phone_is_left_empty() -> None:
    """A Swiss number with nothing saying Switzerland is not forced into a US one."""
    assert parse_resume("Anna Meier\n079 123 45 67", [], default_region="US").phone is None


@pytest.mark.parametrize(
    ("text", "location"),
    [
        ("Anna Meier\nBahnhofstrasse 1, 8001 Zürich\nanna@example.ch", "Zürich, Switzerland"),
        (
            "Max Mustermann\nHauptstr. 5 | 12345 Musterstadt | +49 30 1234567",
            "Musterstadt, Germany",
        ),
        ("Max Mustermann\n12345 Musterstadt\n+49 30 1234567", "Musterstadt, Germany"),
        ("Иван Петров\nМосква\n+7 495 123-45-67", "Москва, Russia"),
        ("Иван Петров\nМосква, Россия", "Москва, Россия"),
        ("王伟\n北京市朝阳区\n+86 138 0013 8000", "北京市, China"),
        ("Olivia Bennett\nLondon SW1A 1AA", "London, United Kingdom"),
        ("Giulia Bianchi\nMilano | 02 1234 5678", "Milano, Italy"),
        ("Priya Sharma\nBengaluru 560001", "Bengaluru, India"),
        ("Jane Doe\nAustin | jane@example.com", "Austin, TX"),
        ("Γιώργος Παπαδόπουλος\nΑθήνα", "Αθήνα, Greece"),
        (
            "Carmen Ruiz\n\u2709 c@example.es \u260e +34 612 98 76 54 \u2302 Valencia",
            "Valencia, Spain",
        ),
        ("Ana Díaz\nAcatlán, Puebla, México", "Acatlán, Puebla, México"),
        ("佐藤 花子\n〒530-0001 大阪府大阪市北区梅田1-1-1", "大阪市, Japan"),
        ("Jane Doe\nSenior Software Engineer, Northwind Traders", None),
    ],
)
def test_world_places(text: str, location: str | None) -> None:
    """Cities from the gazetteer, alone or beside a postcode, as written, with their country."""
    assert parse_resume(text, []).location == location


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("王伟\n北京市", "伟", "王"),
        ("欧阳娜娜", "娜娜", "欧阳"),
        ("田中 太郎", "太郎", "田中"),
        ("José Doroteo Arango Arámbula", "José Doroteo", "Arango Arámbula"),
        ("Pieter van der Berg", "Pieter", "van der Berg"),
        ("Lebenslauf\nAnna Meier", "Anna", "Meier"),
        ("Curriculum Vitae\nJuan Pérez", "Juan", "Pérez"),
        ("Резюме\nИван Петров", "Иван", "Петров"),
        ("J O H N   D O E\nNew York, NY", "John", "Doe"),
        ("Γιώργος Παπαδόπουλος", "Γιώργος", "Παπαδόπουλος"),
        ("राहुल शर्मा", "राहुल", "शर्मा"),
    ],
)
def test_world_names(text: str, first: str, last: str) -> None:
    """Names of every script, family-name-first CJK names, two surnames, headings skipped."""
    parsed = parse_resume(text, [])
    assert (parsed.first_name, parsed.last_name) == (first, last)


def test_single_name() -> None:
    parsed = parse_resume("Madonna\nSinger\nmadonna@example.com", [])
    assert (parsed.first_name, parsed.last_name) == ("Madonna", None)


@pytest.mark.parametrize("text", ["Curriculum Vitae\nEXPERIENCE", "Lebenslauf", "Москва", "Berlin"])
def test_headings_and_places_are_not_names(text: str) -> None:
    parsed = parse_resume(text, [])
    assert parsed.first_name is None


def test_web_code_never_builds_the_gazetteer() -> None:
    """Importing the app and the parser leaves the gazetteer unbuilt (web workers stay small);
    only the parse fork server's warm-up builds it."""
    probe = (
        "import portal.app, portal.resumes.sandbox\n"
        "from portal.resumes.gazetteer import gazetteer\n"
        "assert gazetteer.cache_info().currsize == 0\n"
        "import portal.resumes._warm\n"
        "assert gazetteer.cache_info().currsize == 1\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", probe], env=env, check=True, timeout=60)
