"""Benchmark resume parsing: `python bench/resume_parse.py [--runs N]`.

Generates a realistic 2-page PDF and 2-page DOCX resume in a temporary folder, parses
each N times through `parse_file`, prints p50/p95 per format and the peak memory of one
parse (tracemalloc), and writes bench/results/resume_parse.json. Exits 1 if a p95 is
over the target. No database needed.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

from portal.resumes import InterestKeywords, parse_file  # noqa: E402

TARGET_P95_MS = 300.0
RESULTS = ROOT / "bench" / "results" / "resume_parse.json"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
INTERESTS = [
    InterestKeywords(1, "Software Engineering", ["python", "java", "go", "react", "api"]),
    InterestKeywords(2, "Data & Analytics", ["sql", "spark", "machine learning", "etl"]),
    InterestKeywords(3, "Product Management", ["roadmap", "discovery", "agile"]),
    InterestKeywords(4, "Design & UX", ["figma", "ux", "user research", "accessibility"]),
    InterestKeywords(5, "Sales", ["sales", "quota", "crm", "salesforce", "b2b"]),
    InterestKeywords(6, "Marketing", ["seo", "content", "campaigns", "brand"]),
    InterestKeywords(7, "Customer Success", ["support", "onboarding", "zendesk"]),
    InterestKeywords(8, "Finance & Accounting", ["accounting", "gaap", "excel", "fp&a"]),
]
HEADER = [
    "Aleksandra Nowak-Kowalska",
    "Senior Backend Engineer",
    "Kraków, Poland | +48 12 345 67 89 | aleksandra.nowak@example.pl",
    "linkedin.com/in/aleksandra-nowak | github.com/anowak | https://anowak.dev",
]
JOB = (
    "Designed and ran Python and Go services behind a public API used by 2,000 B2B "
    "customers; moved batch ETL to Spark, introduced SQL data contracts, mentored four "
    "engineers and led the on-call rotation. Worked with product on roadmap discovery."
)


def body_lines() -> list[tuple[str, str]]:
    """(style, text) for two pages: summary, eight jobs, education, skills."""
    lines: list[tuple[str, str]] = [("h", "Summary"), ("p", JOB)]
    lines.append(("h", "Experience"))
    for year in range(2023, 2007, -2):
        lines.append(("b", f"Software Engineer, Company {year}, {year - 2} - {year}"))
        lines += [("p", JOB), ("p", JOB)]
    lines += [("h", "Education"), ("p", "M.Sc. Computer Science, AGH University, 2008")]
    lines += [("h", "Skills"), ("p", "Python, Go, SQL, Spark, Kafka, Kubernetes, React, Figma")]
    return lines


def make_pdf(path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    family = "Helvetica"
    if FONT.exists():
        pdf.add_font("DejaVu", "", str(FONT))
        family = "DejaVu"

    def text(value: str) -> str:
        return value if family == "DejaVu" else value.encode("latin-1", "replace").decode()

    pdf.add_page()
    for i, line in enumerate(HEADER):
        pdf.set_font(family, size=20 if i == 0 else 10)
        pdf.multi_cell(0, 9 if i == 0 else 5, text(line), new_x="LMARGIN", new_y="NEXT")
    for style, line in body_lines():
        pdf.set_font(family, size={"h": 13, "b": 11}.get(style, 10))
        pdf.multi_cell(0, 5.5, text(line), new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


def make_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    for line in HEADER:
        document.add_paragraph(line)
    for style, line in body_lines():
        if style == "h":
            document.add_heading(line, level=2)
        else:
            document.add_paragraph(line)
    document.sections[0].footer.paragraphs[0].text = "Aleksandra Nowak-Kowalska - resume"
    document.save(str(path))


def pdf_pages(path: Path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(path).pages)


def time_parses(path: Path, kind: str, runs: int) -> dict[str, Any]:
    parse_file(path, kind, INTERESTS)  # warm-up: imports and regex compilation
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        parsed = parse_file(path, kind, INTERESTS)
        samples.append((time.perf_counter() - started) * 1000)
    if parsed.failed or parsed.email is None:
        raise SystemExit(f"{kind}: the benchmark resume did not parse: {parsed}")
    samples.sort()
    return {
        "runs": runs,
        "bytes": path.stat().st_size,
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[max(0, round(0.95 * len(samples)) - 1)], 2),
        "max_ms": round(samples[-1], 2),
    }


def peak_memory(path: Path, kind: str) -> float:
    """Peak Python heap (MiB) while parsing once, imports already done."""
    parse_file(path, kind, INTERESTS)
    tracemalloc.start()
    try:
        parse_file(path, kind, INTERESTS)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return round(peak / (1024 * 1024), 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="parses per format (default 50)")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {
        "target_p95_ms": TARGET_P95_MS,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "formats": {},
    }
    with tempfile.TemporaryDirectory() as folder:
        pdf, docx_path = Path(folder) / "resume.pdf", Path(folder) / "resume.docx"
        make_pdf(pdf)
        make_docx(docx_path)
        results["pdf_pages"] = pdf_pages(pdf)
        for kind, path in (("pdf", pdf), ("docx", docx_path)):
            figures = time_parses(path, kind, args.runs)
            figures["peak_mib"] = peak_memory(path, kind)
            results["formats"][kind] = figures
    missed = [k for k, f in results["formats"].items() if f["p95_ms"] > TARGET_P95_MS]
    results["ok"] = not missed
    print(f"resume parsing, {args.runs} runs per format (PDF has {results['pdf_pages']} pages)")
    print(f"{'format':8}{'bytes':>9}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}{'peak MiB':>10}")
    for kind, f in results["formats"].items():
        print(
            f"{kind:8}{f['bytes']:>9}{f['p50_ms']:>10.1f}{f['p95_ms']:>10.1f}"
            f"{f['max_ms']:>10.1f}{f['peak_mib']:>10.2f}"
        )
    verdict = "ok" if not missed else "MISSED: " + ", ".join(missed)
    print(f"target: p95 < {TARGET_P95_MS:.0f} ms -> {verdict}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
