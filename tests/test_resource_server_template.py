"""Every issuer preset of the resource server renders a clean project, which differs from the default's only in
the preset's name, and passes its own suite."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from .support import REPO
from .support.services import run_own_tests

QUESTIONS = yaml.safe_load((REPO / "copier.yml").read_text(encoding="utf-8"))
PRESETS = QUESTIONS["issuer_preset"]["choices"]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
# What the authorization server has and an API that keeps no state must not.
NOT_HERE = ("alembic.ini", "src/my_service/storage", "src/my_service/accounts", "tests/test_storage.py")


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"


# The presets whose own suite runs: the default, and the one whose conventions differ most (no `aud`).
SUITE_PRESETS = ("oauthgen", "cognito")
# The only lines a preset changes, in these files: its name as a default, and where the README names it.
PRESET_LINES = {"src/my_service/config.py", "README.md", ".copier-answers.yml", ".env.production.example"}


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_renders_a_clean_project(make_project: Callable[..., Path], preset: str) -> None:
    project = make_project(kind="resource-server", issuer_preset=preset)
    package = project / "src" / "my_service"

    for path in (path for path in project.rglob("*") if path.is_file()):
        text = path.read_text(encoding="utf-8")
        for marker in ("{{", "{%", "{#"):
            assert marker not in text, f"{path.relative_to(project)} keeps Jinja: {marker}"
        assert "\n\n\n\n" not in text, f"{path.relative_to(project)} has a run of blank lines"
    assert not list(project.rglob("*.jinja"))
    assert not [name for name in NOT_HERE if (project / name).exists()]
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["kind"] == "resource-server"
    assert answers["issuer_preset"] == preset
    assert not {"jwt_algorithm", "storage", "token_store"} & set(answers)

    config = (package / "config.py").read_text(encoding="utf-8")
    assert f'issuer_preset: str = "{preset}"' in config
    readme = (project / "README.md").read_text(encoding="utf-8")
    for setting in re.findall(r"^    ([a-z_]+): .+ = ", config, re.M):
        assert f"`{setting.upper()}`" in readme, f"README.md does not document {setting.upper()}"
    assert f"**{preset}**" in readme
    dockerfile = (project / "Dockerfile").read_text(encoding="utf-8")
    assert "VOLUME" not in dockerfile
    assert '"check-health"' in dockerfile
    _run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], project)
    _run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], project)

    # The preset is a run-time default: every other file is the default preset's, so the suites of
    # SUITE_PRESETS (which test every preset's conventions by setting ISSUER_PRESET) stand for all.
    default = make_project(kind="resource-server")
    for path in (path for path in project.rglob("*") if path.is_file()):
        relative = path.relative_to(project).as_posix()
        if relative not in PRESET_LINES:
            assert path.read_bytes() == (default / relative).read_bytes(), f"{relative} differs by preset"


@pytest.mark.parametrize("preset", SUITE_PRESETS)
def test_a_preset_s_project_passes_its_own_suite(make_project: Callable[..., Path], preset: str) -> None:
    run_own_tests(make_project(kind="resource-server", issuer_preset=preset))


def test_the_resource_server_is_mypy_strict_clean_and_keeps_its_layers(
    make_project: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    project = make_project(kind="resource-server")
    cache = tmp_path_factory.getbasetemp() / "mypy-cache-resource-server"

    _run([sys.executable, "-m", "mypy", "--cache-dir", str(cache)], project)
    _run([str(LINT_IMPORTS), "--no-cache"], project, {"PYTHONPATH": "src", "PATH": str(Path(sys.executable).parent)})
