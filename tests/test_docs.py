"""The README and docs stay true to the code."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from click.testing import CliRunner

from portal.cli.main import cli
from portal.config import SETTINGS, settings_markdown

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
CONFIGURATION = (ROOT / "docs" / "CONFIGURATION.md").read_text(encoding="utf-8")
# The README and every guide under docs/, each by its path from the repository root.
PAGES = {
    path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8")
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
}


def test_readme_quick_start_is_exactly_make_run_and_make_test() -> None:
    """The quick start is the two commands the guide promises, nothing else."""
    section = README.split("## Quick start", 1)[1]
    block = re.search(r"```\n(.*?)```", section, re.S)
    assert block is not None
    assert block.group(1).split("\n")[:-1] == ["make run", "make test"]


def test_readme_is_a_front_door_of_at_most_15_kb() -> None:
    """The README stays short: the reference lives in docs/, linked from it."""
    assert len(README.encode("utf-8")) <= 15 * 1024


def test_configuration_doc_lists_every_setting_with_its_default() -> None:
    """Each setting in SETTINGS has a row in docs/CONFIGURATION.md, and no extra rows."""
    rows = re.findall(r"^\| `TALENTCONNECT_([A-Z_]+)` \| (.*?) \|", CONFIGURATION, re.M)
    documented = {name: default for name, default in rows}
    assert len(rows) == len(documented)
    assert set(documented) == {s.name for s in SETTINGS}
    for spec in SETTINGS:
        if spec.default:
            assert documented[spec.name] == f"`{spec.default}`"
        else:
            assert documented[spec.name] == "(empty)"


def test_configuration_doc_table_is_the_settings_table() -> None:
    """docs/CONFIGURATION.md holds exactly what `make docs` writes from the settings table."""
    block = re.search(
        r"^<!-- BEGIN settings table.*?-->\n\n(.*?)\n^<!-- END settings table -->$",
        CONFIGURATION,
        re.M | re.S,
    )
    assert block is not None, "the BEGIN/END settings table markers are missing"
    assert block.group(1) == settings_markdown(), "run `make docs` to rewrite the table"


def test_settings_markdown_is_what_the_cli_prints() -> None:
    """`talentconnect settings --markdown` prints the table the doc holds."""
    result = CliRunner().invoke(cli, ["settings", "--markdown"], env={})
    assert result.exit_code == 0, result.output
    assert result.output == settings_markdown()


def test_docs_name_only_commands_that_exist() -> None:
    """Every `talentconnect X` command the README and docs/ mention is a real subcommand."""
    mentioned = {
        name
        for text in PAGES.values()
        for name in re.findall(r"`talentconnect ([a-z][a-z-]*)", text)
    }
    assert set(re.findall(r"`talentconnect ([a-z][a-z-]*)", README))
    runner = CliRunner()
    for name in mentioned:
        result = runner.invoke(cli, [name, "--help"], env={})
        assert result.exit_code == 0, (name, result.output)


def test_docs_hold_no_help_dumps() -> None:
    """The CLI is the source of its --help text: no page copies it."""
    for page, text in PAGES.items():
        assert "Usage: talentconnect" not in text, page


def _anchors(text: str) -> set[str]:
    """The fragment ids GitHub gives a page's headings."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    seen: dict[str, int] = {}
    anchors = set()
    for heading in re.findall(r"^#{1,6} (.+?)\s*$", text, re.M):
        slug = "".join(
            ch
            for ch in heading.lower().replace(" ", "-")
            if ch == "-" or ch == "_" or unicodedata.category(ch)[0] in "LN"
        )
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def test_links_between_pages_resolve() -> None:
    """Every relative link in the README and docs/ names a file that exists, and a heading in it."""
    for page, text in PAGES.items():
        base = (ROOT / page).parent
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            path, _, fragment = target.partition("#")
            file = (base / path).resolve() if path else ROOT / page
            assert file.exists(), (page, target)
            if fragment:
                assert file.suffix == ".md", (page, target)
                assert fragment in _anchors(file.read_text(encoding="utf-8")), (page, target)


def test_architecture_doc_exists_and_covers_the_three_flows() -> None:
    """docs/ARCHITECTURE.md describes a web request, a scheduled alert and an email."""
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for heading in ("## A web request", "## A scheduled alert", "## An email"):
        assert heading in text
