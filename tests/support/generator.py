"""oauthgen itself as the tests drive it: the command line in-process, the questions copier.yml asks, the
answers a project records, and the version a source tree carries."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml
from typer.testing import CliRunner

from oauthgen.cli import app

from . import REPO

QUESTIONS = yaml.safe_load((REPO / "copier.yml").read_text(encoding="utf-8"))  # copier.yml, as written
_runner = CliRunner()


def oauthgen(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run the command line in this process: its exit code, standard output and standard error."""
    result = _runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def asked(spec: object, kind: str | None = None) -> bool:
    """Whether a copier.yml entry is a question users answer (not a setting or a computed value); with
    KIND, one that projects of that kind answer (`when` names the one kind a question is for)."""
    if not isinstance(spec, dict) or spec.get("when") is False:
        return False
    return kind is None or "when" not in spec or f"'{kind}'" in str(spec["when"])


def recorded_answers(project: Path) -> dict[str, object]:
    return dict(yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8")))


def source_version(source: Path) -> str:
    """The version in a source tree's pyproject.toml."""
    return str(tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"])
