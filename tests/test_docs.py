"""The README and docs stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from portal.cli.main import cli
from portal.config import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_quick_start_is_exactly_make_run_and_make_test() -> None:
    """The quick start is the two commands the guide promises, nothing else."""
    section = README.split("## Quick start", 1)[1]
    block = re.search(r"```\n(.*?)```", section, re.S)
    assert block is not None
    assert block.group(1).split("\n")[:-1] == ["make run", "make test"]


def test_readme_configuration_table_lists_every_setting_with_its_default() -> None:
    """Each setting in portal.config.SETTINGS has a row in the README table, and no extra rows."""
    rows = re.findall(r"^\| `TALENTCONNECT_([A-Z_]+)` \| (.*?) \|", README, re.M)
    documented = {name: default for name, default in rows}
    assert set(documented) == {s.name for s in SETTINGS}
    for spec in SETTINGS:
        if spec.default:
            assert documented[spec.name] == f"`{spec.default}`"


def test_readme_names_only_commands_that_exist() -> None:
    """Every `talentconnect X` command the README mentions is a real subcommand."""
    mentioned = set(re.findall(r"`talentconnect ([a-z][a-z-]*)", README))
    assert mentioned
    runner = CliRunner()
    for name in mentioned:
        result = runner.invoke(cli, [name, "--help"], env={})
        assert result.exit_code == 0, (name, result.output)


def test_architecture_doc_exists_and_covers_the_three_flows() -> None:
    """docs/ARCHITECTURE.md describes a web request, a scheduled alert and an email."""
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for heading in ("## A web request", "## A scheduled alert", "## An email"):
        assert heading in text
