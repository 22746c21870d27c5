"""Field-level parsing accuracy over the committed resume corpus (tests/data/resumes)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from portal.resumes import CONTACT_FIELDS, InterestKeywords, parse_file, store_upload
from tests.resumes.support import CORPUS

TARGET = 0.90
INTERESTS = [
    InterestKeywords(1, "Software Engineering", ["python", "java", "go", "react", "typescript"]),
    InterestKeywords(2, "Data & Analytics", ["sql", "spark", "machine learning", "etl"]),
    InterestKeywords(3, "Design & UX", ["figma", "ux", "user research", "accessibility"]),
    InterestKeywords(4, "Sales", ["sales", "quota", "salesforce", "negotiation", "b2b"]),
]


def report(line: str) -> None:
    # Plain print, not capsys: shown with -s or -rP, and in the report if an assertion fails.
    print(line)


def test_corpus_accuracy_is_at_least_ninety_percent(tmp_path: Path) -> None:
    """Every corpus file goes through store_upload and parse_file; >= 90% of fields are right."""
    expected: dict[str, dict[str, str | None]] = json.loads(
        (CORPUS / "expected.json").read_text(encoding="utf-8")
    )
    assert len(expected) >= 12
    correct = total = 0
    per_field = dict.fromkeys(CONTACT_FIELDS, 0)
    report("\nresume corpus accuracy")
    for name, fields in sorted(expected.items()):
        assert set(fields) == set(CONTACT_FIELDS), name
        data = (CORPUS / name).read_bytes()
        assert len(data) < 100_000, f"{name} is too big for the corpus"
        stored = store_upload(io.BytesIO(data), name, tmp_path, max_bytes=10 * 1024 * 1024)
        parsed = parse_file(tmp_path / stored.storage_name, stored.kind, INTERESTS)
        got = parsed.contact_fields()
        misses = [f for f in CONTACT_FIELDS if got[f] != fields[f]]
        for field in CONTACT_FIELDS:
            per_field[field] += got[field] == fields[field]
        correct += len(CONTACT_FIELDS) - len(misses)
        total += len(CONTACT_FIELDS)
        detail = "; ".join(f"{f}: got {got[f]!r}, want {fields[f]!r}" for f in misses)
        report(f"  {name:28} {stored.kind:5} {8 - len(misses)}/8 {detail}")
    files = len(expected)
    for field, right in per_field.items():
        report(f"  {field:28} {right}/{files}")
    overall = correct / total
    report(f"  overall: {correct}/{total} = {overall:.1%} (target {TARGET:.0%})")
    assert overall >= TARGET


def test_scanned_resume_fails_gracefully_with_no_fields(tmp_path: Path) -> None:
    """The image-only PDF is stored fine and parses to all-null fields with failed=True."""
    data = (CORPUS / "09_scanned.pdf").read_bytes()
    stored = store_upload(io.BytesIO(data), "scan.pdf", tmp_path, max_bytes=1024 * 1024)
    parsed = parse_file(tmp_path / stored.storage_name, stored.kind, INTERESTS)
    assert parsed.failed
    assert set(parsed.contact_fields().values()) == {None}


def test_corpus_skills_suggest_interests(tmp_path: Path) -> None:
    """The header/footer resume (B2B sales) suggests the Sales interest from its keywords."""
    parsed = parse_file(CORPUS / "07_header_footer.docx", "docx", INTERESTS)
    assert 4 in parsed.suggested_interest_ids
    assert {"b2b", "sales", "quota", "salesforce", "negotiation"} <= set(parsed.skills)
