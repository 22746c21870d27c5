"""Generate the resume corpus and expected.json: `python tests/data/resumes/make_corpus.py`.

The generated files are committed; run this again only to change the corpus. Every person,
address and number here is made up (555 numbers, example.* domains).
"""

from __future__ import annotations

import codecs
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docx
from docx.enum.section import WD_SECTION
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FIXED_DATE = datetime(2024, 1, 15, 9, 0, tzinfo=UTC)
FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "location",
    "linkedin_url",
    "github_url",
    "portfolio_url",
)

EXPERIENCE = [
    (
        "Senior Software Engineer, Northwind Traders",
        "2020 - present",
        "Led the migration of a monolith to Python services behind a REST API; cut p95 "
        "latency by 40% and on-call pages by half.",
    ),
    (
        "Software Engineer, Contoso Ltd",
        "2016 - 2020",
        "Built React and TypeScript front ends, introduced accessibility reviews and "
        "a shared design system used by six teams.",
    ),
]
EDUCATION = "B.Sc. Computer Science, State University, 2012 - 2016"


# --- PDF helpers -------------------------------------------------------------------------


class Pdf(FPDF):
    """An A4 page with DejaVu Sans when installed, else fpdf2's core Helvetica (latin-1 only)."""

    def __init__(self) -> None:
        super().__init__(format="A4")
        self.set_creation_date(FIXED_DATE)
        self.set_auto_page_break(auto=True, margin=15)
        regular, bold = FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"
        self.unicode = regular.exists() and bold.exists()
        if self.unicode:
            self.add_font("DejaVu", "", str(regular))
            self.add_font("DejaVu", "B", str(bold))
            self.family_name = "DejaVu"
        else:
            self.family_name = "Helvetica"
        self.add_page()

    def t(self, text: str) -> str:
        return text if self.unicode else text.encode("latin-1", "replace").decode("latin-1")

    def font(self, size: float, bold: bool = False) -> None:
        self.set_font(self.family_name, "B" if bold else "", size)

    def line_of(self, text: str, size: float = 10, bold: bool = False, link: str = "") -> None:
        self.font(size, bold)
        self.multi_cell(0, size * 0.5, self.t(text), new_x="LMARGIN", new_y="NEXT", link=link)

    def gap(self, mm: float = 3) -> None:
        self.ln(mm)

    def experience(self, width: float = 0, x: float | None = None) -> None:
        self.section("Experience", width, x)
        for title, dates, text in EXPERIENCE:
            self.block(title, 10.5, True, width, x)
            self.block(dates, 9, False, width, x)
            self.block(text, 10, False, width, x)
            self.gap(2)
        self.section("Education", width, x)
        self.block(EDUCATION, 10, False, width, x)

    def section(self, title: str, width: float = 0, x: float | None = None) -> None:
        self.gap(2)
        self.block(title.upper(), 12, True, width, x)

    def block(
        self, text: str, size: float, bold: bool, width: float = 0, x: float | None = None
    ) -> None:
        if x is not None:
            self.set_x(x)
        self.font(size, bold)
        self.multi_cell(width, size * 0.5, self.t(text), new_x="LEFT", new_y="NEXT")


def save_pdf(pdf: FPDF, name: str) -> None:
    pdf.output(str(HERE / name))


# --- the resumes -------------------------------------------------------------------------


def one_column_pdf(name: str) -> dict[str, Any]:
    pdf = Pdf()
    pdf.line_of("Emily Carter", 22, True)
    pdf.line_of("Senior Software Engineer", 12)
    pdf.line_of("San Francisco, CA 94105  •  (415) 555-2671  •  emily.carter@example.com", 10)
    pdf.line_of("linkedin.com/in/emily-carter-dev  •  https://emilycarter.dev", 10)
    pdf.line_of("GitHub", 10, link="https://github.com/ecarter")
    pdf.section("Summary")
    pdf.line_of(
        "Backend engineer with eight years of Python, Go and SQL, who enjoys turning "
        "messy data pipelines into reliable products."
    )
    pdf.experience()
    pdf.section("Skills")
    pdf.line_of("Python, Go, SQL, Kubernetes, React, machine learning basics")
    save_pdf(pdf, name)
    return {
        "first_name": "Emily",
        "last_name": "Carter",
        "email": "emily.carter@example.com",
        "phone": "+14155552671",
        "location": "San Francisco, CA",
        "linkedin_url": "https://www.linkedin.com/in/emily-carter-dev",
        "github_url": "https://github.com/ecarter",
        "portfolio_url": "https://emilycarter.dev",
    }


def two_column_pdf(name: str) -> dict[str, Any]:
    """Main column first in the content stream, contact details in a side column after it."""
    pdf = Pdf()
    main_x, main_w, side_x, side_w = 72.0, 125.0, 10.0, 55.0
    pdf.set_xy(main_x, 12)
    pdf.block("Lukas Müller", 22, True, main_w, main_x)
    pdf.block("Data Engineer", 12, False, main_w, main_x)
    pdf.section("Profile", main_w, main_x)
    pdf.block(
        "Data engineer building streaming pipelines with Spark and SQL for retail "
        "analytics. Previously at a Munich start-up.",
        10,
        False,
        main_w,
        main_x,
    )
    pdf.experience(main_w, main_x)
    pdf.set_fill_color(235, 240, 245)
    pdf.rect(side_x - 2, 10, side_w + 2, 277, style="F")
    pdf.set_xy(side_x, 14)
    for text, size, bold in [
        ("CONTACT", 12, True),
        ("Berlin, Germany", 9.5, False),
        ("+49 30 12345678", 9.5, False),
        ("lukas.mueller@example.de", 9.5, False),
        ("linkedin.com/in/lukas-mueller", 9.5, False),
        ("SKILLS", 12, True),
        ("Spark, Kafka, SQL, Python, Airflow, ETL", 9.5, False),
        ("LANGUAGES", 12, True),
        ("German, English", 9.5, False),
    ]:
        pdf.block(text, size, bold, side_w, side_x)
        pdf.ln(1.5)
    save_pdf(pdf, name)
    return {
        "first_name": "Lukas",
        "last_name": "Müller",
        "email": "lukas.mueller@example.de",
        "phone": "+493012345678",
        "location": "Berlin, Germany",
        "linkedin_url": "https://www.linkedin.com/in/lukas-mueller",
        "github_url": None,
        "portfolio_url": None,
    }


def table_pdf(name: str) -> dict[str, Any]:
    pdf = Pdf()
    pdf.line_of("Priya Raghunathan", 22, True)
    pdf.line_of("Machine Learning Engineer", 12)
    pdf.gap()
    pdf.font(10)
    with pdf.table(col_widths=(35, 120), first_row_as_headings=False) as table:
        for label, value in [
            ("Email", "priya.r@example.in"),
            ("Phone", "+91 98765 43210"),
            ("Location", "Bengaluru, Karnataka, India"),
            ("GitHub", "github.com/priyar"),
        ]:
            row = table.row()
            row.cell(pdf.t(label))
            row.cell(pdf.t(value))
    pdf.section("Summary")
    pdf.line_of("ML engineer shipping recommendation models with Python, Spark and SQL.")
    pdf.experience()
    save_pdf(pdf, name)
    return {
        "first_name": "Priya",
        "last_name": "Raghunathan",
        "email": "priya.r@example.in",
        "phone": "+919876543210",
        "location": "Bengaluru, Karnataka, India",
        "linkedin_url": None,
        "github_url": "https://github.com/priyar",
        "portfolio_url": None,
    }


def accents_pdf(name: str) -> dict[str, Any]:
    pdf = Pdf()
    pdf.line_of("José Álvarez-Núñez", 22, True)
    pdf.line_of("Product Designer", 12)
    pdf.line_of("São Paulo, Brazil | +55 11 91234-5678 | josé@exämple.test", 10)
    pdf.line_of("https://alvarez-nunez.com.br | github.com/jalvareznunez", 10)
    pdf.section("About")
    pdf.line_of(
        "Designer focused on user research, prototyping in Figma and accessibility for "
        "fintech products used across Latin America."
    )
    pdf.experience()
    save_pdf(pdf, name)
    return {
        "first_name": "José",
        "last_name": "Álvarez-Núñez",
        "email": "josé@exämple.test",
        "phone": "+5511912345678",
        "location": "São Paulo, Brazil",
        "linkedin_url": None,
        "github_url": "https://github.com/jalvareznunez",
        "portfolio_url": "https://alvarez-nunez.com.br",
    }


def french_pdf(name: str) -> dict[str, Any]:
    pdf = Pdf()
    pdf.line_of("Zoë O'Brien", 22, True)
    pdf.line_of("UX Researcher", 12)
    pdf.line_of("Paris, France", 10)
    pdf.line_of("Tél. +33 6 12 34 56 78", 10)
    pdf.line_of("E-mail: zoe.obrien@example.fr", 10)
    pdf.line_of("Portfolio: zoeobrien.design", 10)
    pdf.line_of("https://fr.linkedin.com/in/zoe-obrien/", 10)
    pdf.section("Experience")
    pdf.line_of("Lead UX researcher, Fabrikam (Lyon, France), 2019 - 2024")
    pdf.line_of("Ran user research and usability studies for a banking app; Figma, UX, UI.")
    save_pdf(pdf, name)
    return {
        "first_name": "Zoë",
        "last_name": "O'Brien",
        "email": "zoe.obrien@example.fr",
        "phone": "+33612345678",
        "location": "Paris, France",
        "linkedin_url": "https://www.linkedin.com/in/zoe-obrien",
        "github_url": None,
        "portfolio_url": "https://zoeobrien.design",
    }


def minimal_pdf(name: str) -> dict[str, Any]:
    pdf = Pdf()
    pdf.line_of("Tomás Ortega", 20, True)
    pdf.line_of("tomas.ortega@example.es · +34 612 345 678", 10)
    pdf.section("Experience")
    pdf.line_of("Accountant, Tailspin Toys, 2018 - 2024. Month-end close, GAAP, audit, Excel.")
    save_pdf(pdf, name)
    return {
        "first_name": "Tomás",
        "last_name": "Ortega",
        "email": "tomas.ortega@example.es",
        "phone": "+34612345678",
        "location": None,
        "linkedin_url": None,
        "github_url": None,
        "portfolio_url": None,
    }


def caps_pdf(name: str) -> dict[str, Any]:
    pdf = Pdf()
    pdf.line_of("CURRICULUM VITAE", 10, True)
    pdf.line_of("AKIRA TANAKA", 22, True)
    pdf.line_of("Tokyo, Japan  |  +81 3-1234-5678  |  akira.tanaka@example.jp", 10)
    pdf.line_of("github.com/akira-tanaka", 10)
    pdf.section("Experience")
    pdf.line_of("Backend engineer, Wide World Importers, 2017 - 2024. Java, Go, API design.")
    pdf.add_page()
    pdf.section("Projects")
    pdf.line_of("Open-source contributor to a Go HTTP router; speaker at a Tokyo Go meetup.")
    save_pdf(pdf, name)
    return {
        "first_name": "Akira",
        "last_name": "Tanaka",
        "email": "akira.tanaka@example.jp",
        "phone": "+81312345678",
        "location": "Tokyo, Japan",
        "linkedin_url": None,
        "github_url": "https://github.com/akira-tanaka",
        "portfolio_url": None,
    }


def scanned_pdf(name: str) -> dict[str, Any]:
    """An image of a resume and no text layer, like a phone scan."""
    width, height = 620, 877  # A4 at 75 dpi keeps the file small
    image = Image.new("1", (width, height), 1)
    draw = ImageDraw.Draw(image)
    font_path = FONT_DIR / "DejaVuSans.ttf"
    big: Any = ImageFont.truetype(str(font_path), 26) if font_path.exists() else None
    small: Any = ImageFont.truetype(str(font_path), 13) if font_path.exists() else None
    big = big or ImageFont.load_default()
    small = small or ImageFont.load_default()
    draw.text((40, 40), "Hannah Schmidt", font=big, fill=0)
    lines = [
        "Hamburg, Germany | +49 40 1234567 | hannah.schmidt@example.de",
        "",
        "EXPERIENCE",
        "Customer Success Manager, Adventure Works, 2019 - 2024",
        "Onboarding, retention and support for 120 B2B accounts.",
    ]
    for i, text in enumerate(lines):
        draw.text((40, 90 + i * 20), text, font=small, fill=0)
    pdf = Pdf()
    pdf.image(image, x=0, y=0, w=210, h=297)
    save_pdf(pdf, name)
    return {field: None for field in FIELDS}


# --- DOCX helpers ------------------------------------------------------------------------


def new_docx() -> Any:
    document = docx.Document()
    props = document.core_properties
    props.created = props.modified = FIXED_DATE.replace(tzinfo=None)
    props.author = props.last_modified_by = "corpus"
    return document


def name_paragraph(document: Any, text: str) -> None:
    run = document.add_paragraph().add_run(text)
    run.bold = True
    run.font.size = Pt(22)


def body_sections(document: Any) -> None:
    document.add_heading("Experience", level=2)
    for title, dates, text in EXPERIENCE:
        document.add_paragraph(title).runs[0].bold = True
        document.add_paragraph(dates)
        document.add_paragraph(text)
    document.add_heading("Education", level=2)
    document.add_paragraph(EDUCATION)


def add_hyperlink(paragraph: Any, url: str, text: str) -> None:
    """python-docx has no hyperlink API; build the w:hyperlink element by hand."""
    rel_id = paragraph.part.relate_to(url, RT.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rel_id)
    run = OxmlElement("w:r")
    text_el = OxmlElement("w:t")
    text_el.text = text
    run.append(text_el)
    link.append(run)
    paragraph._p.append(link)


def save_docx(document: Any, name: str) -> None:
    document.save(str(HERE / name))


def table_docx(name: str) -> dict[str, Any]:
    document = new_docx()
    name_paragraph(document, "Mei-Ling Chen")
    document.add_paragraph("Marketing Manager")
    table = document.add_table(rows=0, cols=2)
    for label, value in [
        ("Email", "meiling.chen@example.ca"),
        ("Phone", "+1 (416) 555-0199"),
        ("Location", "Toronto, ON"),
        ("Website", "https://meilingchen.ca"),
    ]:
        cells = table.add_row().cells
        cells[0].text = label
        cells[1].text = value
    document.add_heading("Summary", level=2)
    document.add_paragraph("Brand and content marketer: SEO, campaigns, social media, analytics.")
    body_sections(document)
    save_docx(document, name)
    return {
        "first_name": "Mei-Ling",
        "last_name": "Chen",
        "email": "meiling.chen@example.ca",
        "phone": "+14165550199",
        "location": "Toronto, ON",
        "linkedin_url": None,
        "github_url": None,
        "portfolio_url": "https://meilingchen.ca",
    }


def header_footer_docx(name: str) -> dict[str, Any]:
    """Contact details only in the page header and footer, none in the body."""
    document = new_docx()
    section = document.sections[0]
    section.header.paragraphs[0].text = "Olivia Bennett | London, UK"
    footer = section.footer.paragraphs[0]
    footer.text = "olivia.bennett@example.co.uk | +44 20 7946 0958 | linkedin.com/in/olivia-bennett"
    document.add_heading("Professional summary", level=1)
    document.add_paragraph(
        "Account executive with seven years of B2B sales in SaaS; consistently above quota, "
        "Salesforce power user, calm in negotiation."
    )
    body_sections(document)
    save_docx(document, name)
    return {
        "first_name": "Olivia",
        "last_name": "Bennett",
        "email": "olivia.bennett@example.co.uk",
        "phone": "+442079460958",
        "location": "London, UK",
        "linkedin_url": "https://www.linkedin.com/in/olivia-bennett",
        "github_url": None,
        "portfolio_url": None,
    }


def hyperlinks_docx(name: str) -> dict[str, Any]:
    """LinkedIn and GitHub appear only as link targets behind the words "LinkedIn", "GitHub"."""
    document = new_docx()
    name_paragraph(document, "Amara Okafor")
    document.add_paragraph("Lagos, Nigeria • +234 803 123 4567 • amara.okafor@example.ng")
    links = document.add_paragraph()
    add_hyperlink(links, "https://www.linkedin.com/in/amara-okafor", "LinkedIn")
    links.add_run(" • ")
    add_hyperlink(links, "https://github.com/amaraokafor", "GitHub")
    document.add_heading("Summary", level=2)
    document.add_paragraph("Full-stack developer: JavaScript, TypeScript, React and Node APIs.")
    body_sections(document)
    save_docx(document, name)
    return {
        "first_name": "Amara",
        "last_name": "Okafor",
        "email": "amara.okafor@example.ng",
        "phone": "+2348031234567",
        "location": "Lagos, Nigeria",
        "linkedin_url": "https://www.linkedin.com/in/amara-okafor",
        "github_url": "https://github.com/amaraokafor",
        "portfolio_url": None,
    }


def labeled_docx(name: str) -> dict[str, Any]:
    document = new_docx()
    document.add_heading("Resume", level=1)
    for line in [
        "Name: Daniel Kim",
        "Location: Austin, TX",
        "Phone: (512) 555-0147",
        "Email: dkim@example.net",
        "GitHub: github.com/danielkim",
        "Website: danielkim.io",
    ]:
        document.add_paragraph(line)
    document.add_heading("Skills", level=2)
    document.add_paragraph("Python, Django, PostgreSQL, API design, Terraform")
    body_sections(document)
    save_docx(document, name)
    return {
        "first_name": "Daniel",
        "last_name": "Kim",
        "email": "dkim@example.net",
        "phone": "+15125550147",
        "location": "Austin, TX",
        "linkedin_url": None,
        "github_url": "https://github.com/danielkim",
        "portfolio_url": "https://danielkim.io",
    }


def two_column_docx(name: str) -> dict[str, Any]:
    """The common Word template: a borderless two-cell table, sidebar on the left."""
    document = new_docx()
    document.sections[0].start_type = WD_SECTION.NEW_PAGE
    table = document.add_table(rows=1, cols=2)
    side, main = table.rows[0].cells
    side.text = "Sofia Rossi"
    side.paragraphs[0].runs[0].bold = True
    for line in [
        "Milan, Italy",
        "+39 02 1234 5678",
        "sofia.rossi@example.it",
        "linkedin.com/in/sofiarossi",
        "sofiarossi.art",
    ]:
        side.add_paragraph(line)
    main.text = "Senior Product Manager"
    for line in [
        "Product manager owning the roadmap of a payments platform; discovery, agile "
        "delivery and stakeholder alignment across four countries.",
        "Product Manager, Fabrikam, 2018 - 2024",
        "Associate Product Manager, Contoso, 2015 - 2018",
    ]:
        main.add_paragraph(line)
    save_docx(document, name)
    return {
        "first_name": "Sofia",
        "last_name": "Rossi",
        "email": "sofia.rossi@example.it",
        "phone": "+390212345678",
        "location": "Milan, Italy",
        "linkedin_url": "https://www.linkedin.com/in/sofiarossi",
        "github_url": None,
        "portfolio_url": "https://sofiarossi.art",
    }


# --- plain text --------------------------------------------------------------------------


def plain_txt(name: str) -> dict[str, Any]:
    text = "\n".join(
        [
            "Marcus Johnson",
            "Atlanta, GA",
            "404-555-0123 | marcus.johnson@example.org",
            "https://github.com/mjohnson-dev",
            "",
            "SUMMARY",
            "Support engineer turned developer; Python, SQL and a lot of Zendesk.",
            "",
            "EXPERIENCE",
            *[f"{t} ({d})\n  {x}" for t, d, x in EXPERIENCE],
            "",
        ]
    )
    (HERE / name).write_text(text, encoding="utf-8")
    return {
        "first_name": "Marcus",
        "last_name": "Johnson",
        "email": "marcus.johnson@example.org",
        "phone": "+14045550123",
        "location": "Atlanta, GA",
        "linkedin_url": None,
        "github_url": "https://github.com/mjohnson-dev",
        "portfolio_url": None,
    }


def utf16_txt(name: str) -> dict[str, Any]:
    """Saved by Windows Notepad as "Unicode": UTF-16 with a byte-order mark and CRLF."""
    text = "\r\n".join(
        [
            "Ingrid Søndergaard",
            "Copenhagen, Denmark",
            "Phone: +45 32 12 34 56",
            "Email: ingrid.sondergaard@example.dk",
            "Web: www.ingridsondergaard.dk",
            "",
            "Financial controller: FP&A, forecasting, GAAP and IFRS reporting.",
        ]
    )
    (HERE / name).write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    return {
        "first_name": "Ingrid",
        "last_name": "Søndergaard",
        "email": "ingrid.sondergaard@example.dk",
        "phone": "+4532123456",
        "location": "Copenhagen, Denmark",
        "linkedin_url": None,
        "github_url": None,
        "portfolio_url": "https://www.ingridsondergaard.dk",
    }


CORPUS: dict[str, Callable[[str], dict[str, Any]]] = {
    "01_one_column.pdf": one_column_pdf,
    "02_two_column.pdf": two_column_pdf,
    "03_contact_table.pdf": table_pdf,
    "04_accents_idn_email.pdf": accents_pdf,
    "05_labels_french.pdf": french_pdf,
    "06_contact_table.docx": table_docx,
    "07_header_footer.docx": header_footer_docx,
    "08_plain.txt": plain_txt,
    "09_scanned.pdf": scanned_pdf,
    "10_hyperlinks.docx": hyperlinks_docx,
    "11_utf16.txt": utf16_txt,
    "12_minimal.pdf": minimal_pdf,
    "13_labeled.docx": labeled_docx,
    "14_caps_two_pages.pdf": caps_pdf,
    "15_two_column.docx": two_column_docx,
}


def main() -> int:
    expected: dict[str, dict[str, Any]] = {}
    for name, build in CORPUS.items():
        expected[name] = build(name)
        assert set(expected[name]) == set(FIELDS), name
        size = (HERE / name).stat().st_size
        if size > 100_000:
            print(f"{name} is {size} bytes; keep corpus files under 100 KB", file=sys.stderr)
            return 1
    (HERE / "expected.json").write_text(
        json.dumps(expected, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"wrote {len(expected)} resumes and expected.json to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
