"""Hostile resumes: the extractors' caps, and the sandbox's time, memory and concurrency budgets."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import pytest

from portal.resumes import extract_text, parse_file
from portal.resumes.errors import ParserBusy, ParseRefused
from portal.resumes.extract import ExtractLimits
from portal.resumes.pdf_text import count_operations
from portal.resumes.sandbox import ParseBudget, ResumeParser
from portal.resumes.skills import InterestKeywords
from tests.portal.helpers import child_pids, wait_until
from tests.resumes.support import (
    CORPUS,
    docx_from_body,
    empty_paragraph_docx,
    flate_bomb_pdf,
    glyph_runs_pdf,
    nested_tables_docx,
    one_line_text,
    shared_stream_pdf,
)

INTERESTS = [InterestKeywords(1, "Software Engineering", ["python", "go"])]
# Caps so high they never stop anything: the budgets alone must then hold.
NO_CAPS = ExtractLimits(
    max_pdf_operations=10**9,
    max_pdf_content_bytes=10**10,
    max_pdf_glyphs=10**9,
    max_docx_elements=10**9,
    max_docx_xml_bytes=10**10,
)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- caps on what the extractors build ----------------------------------------------


def test_pdf_content_shared_by_every_page_counts_once_per_page(tmp_path: Path) -> None:
    """A stream shown on 20 pages costs 20 reads: past the operation cap, later pages go unread."""
    path = write(
        tmp_path,
        "shared.pdf",
        shared_stream_pdf(pages=20, operations=2_000, first_line=b"Jane Doe jane@example.com"),
    )
    limits = ExtractLimits(max_pdf_operations=5_000)
    text = extract_text(path, "pdf", limits)
    # Two pages fit (about 2,000 operators each), the third would pass 5,000.
    assert text.count("Jane Doe jane@example.com") == 2
    parsed = parse_file(path, "pdf", [], limits=limits)
    assert parsed.email == "jane@example.com"


def test_pdf_page_over_the_operation_cap_is_not_read(tmp_path: Path) -> None:
    """A first page of 100,000 glyph runs is past the default cap: no text, no long parse."""
    path = write(tmp_path, "glyphs.pdf", glyph_runs_pdf(pages=2, runs=50_000))
    assert extract_text(path, "pdf") == ""
    assert parse_file(path, "pdf", []).failed


def test_pdf_layout_stops_at_the_glyph_cap(tmp_path: Path) -> None:
    """Past the glyph cap, layout analysis keeps what it has: the first lines, quickly."""
    path = write(
        tmp_path,
        "shared.pdf",
        shared_stream_pdf(pages=20, operations=2_000, first_line=b"Jane Doe jane@example.com"),
    )
    limits = ExtractLimits(max_pdf_glyphs=3_000)
    text = extract_text(path, "pdf", limits)
    assert text.startswith("Jane Doe jane@example.com")
    # About 1,000 glyphs a page: the third page is cut, the fourth never laid out.
    assert text.count("Jane Doe jane@example.com") == 3
    assert sum(not c.isspace() for c in text) <= 3_000


def test_pdf_content_over_the_byte_cap_is_not_inflated(tmp_path: Path) -> None:
    """A content stream that inflates past the byte cap stops the reading there."""
    path = write(tmp_path, "bomb.pdf", flate_bomb_pdf(unpacked_mb=20))
    limits = ExtractLimits(max_pdf_content_bytes=1024 * 1024)
    assert extract_text(path, "pdf", limits) == ""


def test_operation_count_skips_words_inside_strings() -> None:
    """Operators are counted, not the words in the text they show."""
    assert count_operations(b"BT /F1 12 Tf (Senior Python Engineer) Tj <48656c6c6f> Tj ET") == 5


def test_docx_stops_at_the_element_cap_and_keeps_what_came_before(tmp_path: Path) -> None:
    """The paragraphs before the cap are read; the rest of a bloated document is not."""
    head = (
        b"<w:p><w:r><w:t>Jane Doe</w:t></w:r></w:p>"
        b"<w:p><w:r><w:t>jane@example.com</w:t></w:r></w:p>"
    )
    path = write(tmp_path, "bloated.docx", docx_from_body([head, b"<w:p/>" * 50_000]))
    text = extract_text(path, "docx", ExtractLimits(max_docx_elements=1_000))
    lines = text.splitlines()
    assert lines[:2] == ["Jane Doe", "jane@example.com"]
    assert len(lines) < 1_000


def test_docx_stops_at_the_xml_byte_cap(tmp_path: Path) -> None:
    """Decompressed XML past the byte cap is never read, and what came before stands."""
    head = b"<w:p><w:r><w:t>Jane Doe</w:t></w:r></w:p>"
    body = b"<w:p><w:r><w:t>" + b"x" * 2_000_000 + b"</w:t></w:r></w:p>"
    path = write(tmp_path, "long.docx", docx_from_body([head, body]))
    text = extract_text(path, "docx", ExtractLimits(max_docx_xml_bytes=100_000))
    assert text == "Jane Doe"


def test_docx_of_empty_paragraphs_reads_within_the_element_cap(tmp_path: Path) -> None:
    """The 82:1 document of empty paragraphs is read only up to the element cap."""
    path = write(tmp_path, "empty.docx", empty_paragraph_docx(unpacked=5_000_000))
    text = extract_text(path, "docx", ExtractLimits(max_docx_elements=20_000))
    assert text.count("\n") < 20_000


def test_deeply_nested_tables_are_read(tmp_path: Path) -> None:
    """Tables nested 80 deep are read without recursion trouble, innermost text included."""
    path = write(tmp_path, "nested.docx", nested_tables_docx(depth=80, paragraphs=200))
    assert "cell 199 python" in extract_text(path, "docx")
    assert not parse_file(path, "docx", INTERESTS).failed


def test_one_line_text_file_reads_only_its_first_megabyte(tmp_path: Path) -> None:
    """A 10 MB single-line text file is read up to the text-file cap."""
    path = write(tmp_path, "line.txt", one_line_text())
    assert len(extract_text(path, "text")) <= 1024 * 1024


# --- the sandbox: time, memory and how many at once ---------------------------------


def test_sandbox_parses_a_real_resume_like_parse_file() -> None:
    """In the child process the corpus resume parses to the same fields as in-process."""
    path = CORPUS / "01_one_column.pdf"
    parser = ResumeParser(ParseBudget(seconds=30))
    assert parser.parse(path, "pdf", INTERESTS) == parse_file(path, "pdf", INTERESTS)


def test_over_the_time_budget_the_file_is_refused_and_the_child_killed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Past the wall-clock budget: ParseRefused, a log line of size and kind, no child left."""
    data = glyph_runs_pdf(pages=10, runs=50_000)
    path = write(tmp_path, "slow.pdf", data)
    parser = ResumeParser(ParseBudget(seconds=0.5), NO_CAPS)
    parser.parse(CORPUS / "12_minimal.pdf", "pdf", [])  # the fork server is up
    with (
        caplog.at_level(logging.WARNING, logger="portal.resumes.sandbox"),
        pytest.raises(ParseRefused) as refused,
    ):
        parser.parse(path, "pdf", [])
    assert "in time" in refused.value.message
    record = next(r for r in caplog.records if "over the parse budget" in r.getMessage())
    assert record.__dict__["bytes"] == len(data)
    assert record.__dict__["kind"] == "pdf"
    assert record.__dict__["reason"] == "time budget"
    assert "Tj" not in str(record.__dict__)
    assert parse_children() == []


def parse_children() -> list[int]:
    """Live children of this process's children: parse processes under the fork server."""
    return [g for c in child_pids(os.getpid()) for g in child_pids(c)]


def test_over_the_memory_budget_the_file_is_refused(tmp_path: Path) -> None:
    """A content stream inflating to 200 MB hits the address-space limit: refused, not a crash."""
    path = write(tmp_path, "bomb.pdf", flate_bomb_pdf(unpacked_mb=200))
    limits = ExtractLimits(max_pdf_content_bytes=10**10)
    parser = ResumeParser(ParseBudget(seconds=30, memory_mb=64), limits)
    with pytest.raises(ParseRefused):
        parser.parse(path, "pdf", [])
    # The same parser reads the next, ordinary file as usual.
    assert parser.parse(CORPUS / "01_one_column.pdf", "pdf", []).email


def test_one_parse_more_than_the_concurrency_is_refused_at_once(tmp_path: Path) -> None:
    """With one slot taken, the next parse raises ParserBusy instead of queueing."""
    path = write(tmp_path, "slow.pdf", glyph_runs_pdf(pages=10, runs=50_000))
    parser = ResumeParser(ParseBudget(seconds=3, concurrency=1), NO_CAPS)
    started = threading.Event()
    outcome: list[BaseException | None] = []

    def slow() -> None:
        started.set()
        try:
            parser.parse(path, "pdf", [])
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=slow)
    worker.start()
    try:
        started.wait(5)
        wait_until(parse_children, timeout=10, interval=0.01, what="the slow parse's child")
        with pytest.raises(ParserBusy) as busy:
            parser.parse(CORPUS / "12_minimal.pdf", "pdf", [])
        assert "try again" in busy.value.message
    finally:
        worker.join(10)
    assert isinstance(outcome[0], ParseRefused)
    # The slot is free again.
    assert parser.parse(CORPUS / "01_one_column.pdf", "pdf", []).email
