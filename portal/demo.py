"""Demo data: a company with interests, job postings, schedules and a recruiter.

Seeding is idempotent: rows are matched by slug, reference and name, so running
it again adds nothing twice. With them come about 200 candidates and 60 days of
history behind the reports (`portal.demo_history`), seeded once.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.models import AlertSchedule, FrequencyClass, JobPosting
from jobs.posting_fields import EmploymentType, Workplace
from portal.auth.recruiters import set_recruiter
from portal.demo_history import HISTORY_DAYS, HistoryResult, seed_history
from preferences.clock import now
from preferences.models import Interest, InterestTranslation, RecruiterRole

DEMO_RECRUITER_EMAIL = "recruiter@acme.example.com"

INTERESTS: list[tuple[str, str, list[str]]] = [
    (
        "Software Engineering",
        "Backend, frontend and full-stack engineers who build our products.",
        ["python", "java", "go", "javascript", "typescript", "react", "api", "backend", "frontend"],
    ),
    (
        "Data & Analytics",
        "Analysts, data engineers and scientists turning data into decisions.",
        ["sql", "python", "statistics", "machine learning", "tableau", "spark", "etl"],
    ),
    (
        "Product Management",
        "Product managers who decide what we build and why.",
        ["roadmap", "product", "discovery", "agile", "stakeholder"],
    ),
    (
        "Design & UX",
        "Product designers, researchers and writers shaping how our products feel.",
        ["figma", "ux", "ui", "user research", "prototyping", "accessibility"],
    ),
    (
        "Sales",
        "Account executives and business developers who grow our customer base.",
        ["sales", "quota", "crm", "salesforce", "negotiation", "b2b"],
    ),
    (
        "Marketing",
        "Brand, content, growth and product marketing.",
        ["seo", "content", "campaigns", "brand", "social media", "analytics"],
    ),
    (
        "Customer Success",
        "Support and success teams who keep our customers happy.",
        ["support", "customer success", "onboarding", "zendesk", "retention"],
    ),
    (
        "Finance & Accounting",
        "Accountants, controllers and financial planners.",
        ["accounting", "gaap", "excel", "forecasting", "audit", "fp&a"],
    ),
    (
        "People & HR",
        "Recruiters and people partners who build our teams.",
        ["recruiting", "hr", "talent", "onboarding", "benefits"],
    ),
    (
        "IT & Security",
        "Keeping our systems, devices and data safe and running.",
        ["security", "networking", "it support", "iam", "compliance", "soc2"],
    ),
    (
        "Operations",
        "Business operations, logistics and program management.",
        ["operations", "logistics", "process", "program management", "supply chain"],
    ),
    (
        "Internships & Graduates",
        "Early-career programmes for students and recent graduates.",
        ["intern", "graduate", "student", "entry level", "apprentice"],
    ),
]

# The interests' Spanish names and details, as a recruiter would enter them on each
# interest's Spanish tab; the other languages are left to show the default (English) ones.
SPANISH: dict[str, tuple[str, str]] = {
    "Software Engineering": (
        "Ingeniería de software",
        "Ingenieras e ingenieros de backend, frontend y full-stack que crean nuestros productos.",
    ),
    "Data & Analytics": (
        "Datos y analítica",
        "Analistas, ingenieros y científicos de datos que convierten datos en decisiones.",
    ),
    "Product Management": (
        "Gestión de producto",
        "Product managers que deciden qué construimos y por qué.",
    ),
    "Design & UX": (
        "Diseño y UX",
        "Diseño de producto, investigación y redacción que dan forma a nuestros productos.",
    ),
    "Sales": (
        "Ventas",
        "Ejecutivos de cuentas y desarrollo de negocio que hacen crecer la cartera.",
    ),
    "Marketing": ("Marketing", "Marca, contenidos, crecimiento y marketing de producto."),
    "Customer Success": (
        "Éxito del cliente",
        "Equipos de soporte y éxito que cuidan de nuestros clientes.",
    ),
    "Finance & Accounting": (
        "Finanzas y contabilidad",
        "Contables, controllers y planificación financiera.",
    ),
    "People & HR": (
        "Personas y RR. HH.",
        "Recruiters y people partners que forman nuestros equipos.",
    ),
    "IT & Security": (
        "TI y seguridad",
        "Mantienen nuestros sistemas, equipos y datos seguros y en marcha.",
    ),
    "Operations": (
        "Operaciones",
        "Operaciones de negocio, logística y gestión de programas.",
    ),
    "Internships & Graduates": (
        "Prácticas y recién titulados",
        "Programas para estudiantes y personas recién tituladas.",
    ),
}

TITLES: dict[str, list[str]] = {
    "Software Engineering": [
        "Senior Backend Engineer",
        "Frontend Engineer",
        "Staff Software Engineer",
        "Mobile Engineer (iOS)",
        "Site Reliability Engineer",
    ],
    "Data & Analytics": [
        "Data Analyst",
        "Senior Data Engineer",
        "Machine Learning Engineer",
        "Analytics Engineer",
        "Data Scientist",
    ],
    "Product Management": [
        "Product Manager, Payments",
        "Senior Product Manager, Platform",
        "Associate Product Manager",
    ],
    "Design & UX": ["Product Designer", "UX Researcher", "Content Designer"],
    "Sales": [
        "Account Executive, Mid-Market",
        "Sales Development Representative",
        "Enterprise Account Director",
    ],
    "Marketing": ["Content Marketing Manager", "Growth Marketer", "Product Marketing Manager"],
    "Customer Success": ["Customer Success Manager", "Support Specialist", "Onboarding Lead"],
    "Finance & Accounting": ["Financial Analyst", "Senior Accountant", "Payroll Specialist"],
    "People & HR": ["Technical Recruiter", "People Partner", "HR Operations Coordinator"],
    "IT & Security": ["Security Engineer", "IT Support Specialist", "Identity & Access Engineer"],
    "Operations": ["Business Operations Analyst", "Program Manager", "Logistics Coordinator"],
    "Internships & Graduates": [
        "Software Engineering Intern",
        "Graduate Data Analyst",
        "Marketing Intern",
    ],
}

# What the /jobs filters count: workplace and type vary across the demo jobs.
OFFICE_WORKPLACES = (Workplace.ON_SITE, Workplace.HYBRID, Workplace.HYBRID)
EMPLOYMENT_TYPES = (
    EmploymentType.FULL_TIME,
    EmploymentType.FULL_TIME,
    EmploymentType.FULL_TIME,
    EmploymentType.PART_TIME,
    EmploymentType.CONTRACT,
    EmploymentType.FULL_TIME,
    EmploymentType.INTERNSHIP,
)

LOCATIONS = [
    "Berlin, Germany",
    "London, United Kingdom",
    "New York, NY",
    "Remote (Europe)",
    "Toronto, Canada",
    "Austin, TX",
    "Remote (US)",
    "Lisbon, Portugal",
]

# Extra tags so some postings match two interests.
CROSS_TAGS = {
    "Machine Learning Engineer": "Software Engineering",
    "Site Reliability Engineer": "IT & Security",
    "Graduate Data Analyst": "Data & Analytics",
    "Software Engineering Intern": "Software Engineering",
    "Product Marketing Manager": "Product Management",
    "Marketing Intern": "Marketing",
}


@dataclass(frozen=True)
class DemoResult:
    interests_created: int
    jobs_created: int
    schedules_created: int
    recruiter_email: str
    recruiter_password: str
    history: HistoryResult = field(default_factory=HistoryResult)

    @property
    def candidates_created(self) -> int:
        return self.history.candidates_created

    @property
    def alert_runs_created(self) -> int:
        return self.history.alert_runs_created

    @property
    def messages_created(self) -> int:
        return self.history.messages_created


def slugify(name: str) -> str:
    """Return a URL slug for an interest name."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower().replace("&", "and")).strip("-")


def _description(title: str, area: str, location: str) -> str:
    return (
        f"We're looking for a {title} to join our {area} team in {location}.\n\n"
        "You'll work with a small, senior team that owns its roadmap, talks to customers "
        "every week and ships often. We care about clear writing, kind reviews and "
        "sustainable pace.\n\n"
        "What we offer: competitive salary and equity, a yearly learning budget, flexible "
        "hours, generous parental leave and a home-office allowance."
    )


def _seed_spanish(session: Session, by_name: dict[str, Interest]) -> None:
    """The interests' Spanish names and details, once (a recruiter's edits are kept)."""
    done = set(
        session.scalars(
            select(InterestTranslation.interest_id).where(InterestTranslation.locale == "es")
        )
    )
    for name, (spanish, details) in SPANISH.items():
        interest = by_name[name]
        if interest.id not in done:
            session.add(
                InterestTranslation(
                    interest_id=interest.id, locale="es", name=spanish, details=details
                )
            )
    session.flush()


def seed_demo(session: Session, *, history: bool = True) -> DemoResult:
    """Seed the demo company; returns what was created and a fresh recruiter password.

    `history` adds the demo candidates and their 60 days (benchmarks leave it out).
    """
    by_name: dict[str, Interest] = {}
    interests_created = 0
    for position, (name, details, keywords) in enumerate(INTERESTS):
        slug = slugify(name)
        interest = session.scalar(select(Interest).where(Interest.slug == slug))
        if interest is None:
            interest = Interest(
                name=name, slug=slug, details=details, keywords=keywords, position=position
            )
            session.add(interest)
            interests_created += 1
        by_name[name] = interest
    session.flush()
    _seed_spanish(session, by_name)

    jobs_created = 0
    at = now()
    n = 0
    for area, titles in TITLES.items():
        for title in titles:
            n += 1
            reference = f"DEMO-{n:03d}"
            if session.scalar(select(JobPosting.id).where(JobPosting.reference == reference)):
                continue
            location = LOCATIONS[n % len(LOCATIONS)]
            # Spread over the history's days, so its alert runs have new jobs to send.
            posted_at = at - timedelta(days=(n * 7) % (HISTORY_DAYS - 2), hours=n)
            tags = [by_name[area]]
            if title in CROSS_TAGS and CROSS_TAGS[title] != area:
                tags.append(by_name[CROSS_TAGS[title]])
            session.add(
                JobPosting(
                    reference=reference,
                    title=title,
                    description=_description(title, area, location),
                    location=location,
                    apply_url=f"https://jobs.acme.example.com/apply/{reference.lower()}",
                    posted_at=posted_at,
                    created_at=posted_at,
                    workplace=Workplace.REMOTE
                    if location.startswith("Remote")
                    else OFFICE_WORKPLACES[n % len(OFFICE_WORKPLACES)],
                    employment_type=EMPLOYMENT_TYPES[n % len(EMPLOYMENT_TYPES)],
                    interests=tags,
                )
            )
            jobs_created += 1
    session.flush()

    schedules_created = 0
    for name, cron, frequency in (
        ("Daily digest", "0 8 * * *", FrequencyClass.DAILY),
        ("Weekly digest", "0 8 * * mon", FrequencyClass.WEEKLY),
    ):
        if session.scalar(select(AlertSchedule.id).where(AlertSchedule.name == name)) is None:
            session.add(
                AlertSchedule(
                    name=name,
                    cron=cron,
                    timezone="Europe/Berlin",
                    frequency_class=frequency,
                    all_interests=True,
                    # As old as the history, whose alert runs it fired.
                    created_at=at - timedelta(days=HISTORY_DAYS + 1),
                )
            )
            schedules_created += 1
    session.flush()

    password = secrets.token_urlsafe(12)
    recruiter = set_recruiter(
        session,
        DEMO_RECRUITER_EMAIL,
        password=password,
        role=RecruiterRole.ADMIN,
        name="Demo Recruiter",
    )
    seeded = seed_history(session, at=at, recruiter_id=recruiter.id) if history else HistoryResult()
    return DemoResult(
        interests_created, jobs_created, schedules_created, DEMO_RECRUITER_EMAIL, password, seeded
    )
