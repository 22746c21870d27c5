"""Field-level parsing accuracy over the committed resume corpus (tests/data/resumes).

A field counts when the resume has a value for it or the parser gave one: it is right (the
expected value), empty (the parser gave nothing where a value was expected) or wrong (it gave
a different value, or a value where the resume has none). A wrong value is worse than an empty
one, since the review form would fill it in for the candidate; both are reported. A field the
resume lacks and the parser left empty is not counted, so accuracy is not padded by the many
resumes without, say, a GitHub link. The table by field and by country is printed (see it with
`-s` or `-rP`, or in a failure).
"""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

from portal.resumes import CONTACT_FIELDS, InterestKeywords, parse_file, store_upload
from tests.resumes.support import CORPUS

OVERALL_TARGET = 0.90  # share of all counted fields parsed right
FIELD_TARGET = 0.80  # share of each field's counted values parsed right, over the corpus
MIN_RESUMES = 45
MAX_FILE_BYTES = 100_000
INTERESTS = [
    InterestKeywords(1, "Software Engineering", ["python", "java", "go", "react", "typescript"]),
    InterestKeywords(2, "Data & Analytics", ["sql", "spark", "machine learning", "etl"]),
    InterestKeywords(3, "Design & UX", ["figma", "ux", "user research", "accessibility"]),
    InterestKeywords(4, "Sales", ["sales", "quota", "salesforce", "negotiation", "b2b"]),
]
RIGHT, EMPTY, WRONG = "right", "empty", "wrong"


def report(line: str) -> None:
    # Plain print, not capsys: shown with -s or -rP, and in the report if an assertion fails.
    print(line)


def score(got: str | None, want: str | None) -> str | None:
    """RIGHT, EMPTY or WRONG; None when neither the resume nor the parser has a value."""
    if got == want:
        return None if want is None else RIGHT
    return EMPTY if got is None else WRONG


def accuracy(count: Counter[str]) -> float:
    return count[RIGHT] / max(1, sum(count.values()))


def table(title: str, counts: dict[str, Counter[str]]) -> None:
    report(f"  {title:14} {'right':>6} {'empty':>6} {'wrong':>6} {'accuracy':>9}")
    for key, count in counts.items():
        report(
            f"  {key:14} {count[RIGHT]:6} {count[EMPTY]:6} {count[WRONG]:6} {accuracy(count):9.1%}"
        )


def test_corpus_accuracy_by_field_and_country(tmp_path: Path) -> None:
    """Every corpus file goes through store_upload and parse_file; the fields are scored."""
    expected: dict[str, dict[str, str | None]] = json.loads(
        (CORPUS / "expected.json").read_text(encoding="utf-8")
    )
    assert len(expected) >= MIN_RESUMES
    by_field: dict[str, Counter[str]] = {field: Counter() for field in CONTACT_FIELDS}
    by_country: dict[str, Counter[str]] = {}
    report("\nresume corpus accuracy")
    for name, fields in sorted(expected.items()):
        assert set(fields) == {*CONTACT_FIELDS, "country"}, name
        data = (CORPUS / name).read_bytes()
        assert len(data) < MAX_FILE_BYTES, f"{name} is too big for the corpus"
        stored = store_upload(io.BytesIO(data), name, tmp_path, max_bytes=10 * 1024 * 1024)
        parsed = parse_file(tmp_path / stored.storage_name, stored.kind, INTERESTS)
        got = parsed.contact_fields()
        country = by_country.setdefault(str(fields["country"]), Counter())
        misses = []
        for field in CONTACT_FIELDS:
            result = score(got[field], fields[field])
            if result is None:
                continue
            by_field[field][result] += 1
            country[result] += 1
            if result != RIGHT:
                misses.append(f"{field} {result}: got {got[field]!r}, want {fields[field]!r}")
        counted = sum(fields[f] is not None or got[f] is not None for f in CONTACT_FIELDS)
        right = counted - len(misses)
        report(f"  {name:28} {stored.kind:5} {right}/{counted} {'; '.join(misses)}")
    table("field", by_field)
    table("country", dict(sorted(by_country.items())))
    totals: Counter[str] = sum(by_field.values(), Counter())
    overall = accuracy(totals)
    report(
        f"  overall: {totals[RIGHT]}/{sum(totals.values())} = {overall:.1%} right, "
        f"{totals[EMPTY]} empty, {totals[WRONG]} wrong "
        f"(targets {OVERALL_TARGET:.0%} overall, {FIELD_TARGET:.0%} per field)"
    )
    low = {
        field: f"{accuracy(count):.1%}"
        for field, count in by_field.items()
        if accuracy(count) < FIELD_TARGET
    }
    assert overall >= OVERALL_TARGET, f"overall accuracy {overall:.1%}"
    assert not low, f"fields below {FIELD_TARGET:.0%}: {low}"


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
