"""Every choice renders a clean project: pairwise variants, checked file by file."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from .support import REPO
from .support.generator import asked as _asked

QUESTIONS = yaml.safe_load((REPO / "copier.yml").read_text(encoding="utf-8"))
ALGORITHMS = QUESTIONS["jwt_algorithm"]["choices"]
STORAGES = QUESTIONS["storage"]["choices"]
TOKEN_STORES = QUESTIONS["token_store"]["choices"]
DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg", "mysql": "aiomysql"}
PACKAGE_SOURCE = REPO / "template" / "src" / "{{package_name}}"
# The service's own Jinja2 templates, which Copier must copy untouched: its pages and its mail.
OWN_TEMPLATES = {Path("web/templates"), Path("mail/templates")}
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _pairwise() -> list[dict[str, object]]:
    """Every algorithm with every token store, and every storage with every token store: the storage's
    files and the algorithm's render apart, so an algorithm needs no run with each storage too. The
    storage cycles along the algorithms, and the refresh lifetime along all."""
    variants = []
    for i, algorithm in enumerate(ALGORITHMS):
        for j, token_store in enumerate(TOKEN_STORES):
            variants.append(
                {
                    "jwt_algorithm": algorithm,
                    "storage": STORAGES[(2 * i + j) % len(STORAGES)],
                    "token_store": token_store,
                    "refresh_token_expire_days": 0 if (i + j) % 3 == 0 else 7,
                    "access_token_expire_minutes": 5 + i,
                }
            )
    return variants


VARIANTS = _pairwise()


def _id(variant: dict[str, object]) -> str:
    return "-".join(str(value) for value in variant.values())


def test_pairwise_covers_every_pair_of_choices() -> None:
    pairs = {(str(v["jwt_algorithm"]), str(v["token_store"])) for v in VARIANTS}
    assert pairs == {(a, t) for a in ALGORITHMS for t in TOKEN_STORES}
    pairs = {(str(v["storage"]), str(v["token_store"])) for v in VARIANTS}
    assert pairs == {(s, t) for s in STORAGES for t in TOKEN_STORES}
    assert {str(v["refresh_token_expire_days"]) for v in VARIANTS} == {"0", "7"}


@pytest.mark.parametrize("variant", VARIANTS, ids=_id)
def test_variant_renders_clean(make_project: Callable[..., Path], variant: dict[str, object]) -> None:
    project = make_project(**variant)
    package = project / "src" / "my_service"

    files = [path for path in project.rglob("*") if path.is_file()]
    for path in files:
        text = path.read_text(encoding="utf-8")
        if path.parent.is_relative_to(package) and path.parent.relative_to(package) in OWN_TEMPLATES:
            source = PACKAGE_SOURCE / path.relative_to(package)
            assert text == source.read_text(encoding="utf-8"), f"{path.name} was rendered by Copier"
            continue
        for marker in ("{{", "{%", "{#"):
            assert marker not in text, f"{path.relative_to(project)} keeps Jinja: {marker}"
        assert "\n\n\n\n" not in text, f"{path.relative_to(project)} has a run of blank lines"
    assert (package / "main.py").is_file()
    assert not list(project.rglob("*.jinja"))

    keys = (package / "tokens" / "signing_keys.py").read_text(encoding="utf-8")
    algorithm = str(variant["jwt_algorithm"])
    assert f'ALGORITHM = "{algorithm}"' in keys
    if algorithm.startswith("HS"):
        assert "SECRET_KEY" in keys
        assert "cryptography" not in keys
    else:
        assert "load_key_pairs" in keys  # the key pairs in PEM files, as tokens/key_files.py keeps them
        assert "SECRET_KEY" not in keys
    pyproject = (project / "pyproject.toml").read_text(encoding="utf-8")
    assert DRIVERS[str(variant["storage"])] in pyproject
    assert sum(driver in pyproject for driver in DRIVERS.values()) == 1
    config = (package / "config.py").read_text(encoding="utf-8")
    assert f"access_token_expire_minutes: int = Field(default={variant['access_token_expire_minutes']}" in config

    readme = (project / "README.md").read_text(encoding="utf-8")
    # Private attributes (`_name`) are no settings.
    for setting in re.findall(r"^    ([a-z][a-z_]*): .+ = ", config, re.M):
        assert f"`{setting.upper()}`" in readme, f"README.md does not document {setting.upper()}"

    _run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], project)
    _run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], project)
    _run([sys.executable, "-m", "compileall", "-q", "src", "tests"], project)


@pytest.mark.parametrize(
    "variant",
    [
        {},
        {"jwt_algorithm": "RS256", "storage": "postgresql", "token_store": "redis"},
        {"jwt_algorithm": "ES384", "storage": "mysql"},
        {"jwt_algorithm": "EdDSA", "refresh_token_expire_days": 0},
        {"jwt_algorithm": "Ed25519", "storage": "postgresql"},
    ],
    ids=["defaults", "RS256-postgresql-redis", "ES384-mysql", "EdDSA", "Ed25519-postgresql"],
)
def test_variant_is_mypy_strict_clean(
    make_project: Callable[..., Path], variant: dict[str, object], tmp_path_factory: pytest.TempPathFactory
) -> None:
    project = make_project(**variant)
    cache = tmp_path_factory.getbasetemp() / "mypy-cache"
    _run([sys.executable, "-m", "mypy", "--cache-dir", str(cache)], project)
    _run([str(LINT_IMPORTS), "--no-cache"], project, {"PYTHONPATH": "src"})


def test_import_contract_fails_when_a_lower_layer_imports_a_higher_one(
    make_project: Callable[..., Path], tmp_path: Path
) -> None:
    project = shutil.copytree(make_project(), tmp_path / "project")
    storage = project / "src" / "my_service" / "storage"
    (storage / "reaches_up.py").write_text('"""Wrong on purpose."""\n\nfrom ..oauth import scopes\n', encoding="utf-8")

    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": "src"},
    )

    assert result.returncode != 0
    assert "my_service.storage is not allowed to import my_service.oauth" in result.stdout
    assert "my_service.storage.reaches_up -> my_service.oauth.scopes" in result.stdout


@pytest.mark.parametrize("variant", [*VARIANTS[:6], *VARIANTS[-6:], {"kind": "resource-server"}], ids=_id)
def test_test_environment_has_every_dependency_of_generated_projects(
    make_project: Callable[..., Path], variant: dict[str, object]
) -> None:
    """The generated projects' own tests and boots run in this environment: nothing may be missing."""
    ours = {_name(requirement) for requirement in _requirements(REPO / "pyproject.toml", "test")}
    project = make_project(**variant) / "pyproject.toml"
    needed = {_name(requirement) for requirement in _requirements(project, "dev") + _requirements(project)}

    assert needed <= ours, f"add to the test extra of pyproject.toml: {sorted(needed - ours)}"


def _requirements(pyproject: Path, extra: str | None = None) -> list[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    return list(project["optional-dependencies"][extra] if extra else project["dependencies"])


def _name(requirement: str) -> str:
    return re.split(r"[<>=\[; ]", requirement, maxsplit=1)[0].lower()


def test_answers_file_records_no_secret_and_no_computed_value(make_project: Callable[..., Path]) -> None:
    answers = yaml.safe_load((make_project() / ".copier-answers.yml").read_text(encoding="utf-8"))

    recorded = set(answers) - {"_src_path", "_commit"}
    assert recorded == {key for key, spec in QUESTIONS.items() if _asked(spec, "authorization-server")}


def test_local_state_is_ignored_by_git(make_project: Callable[..., Path]) -> None:
    ignored = (make_project() / ".gitignore").read_text(encoding="utf-8").split()

    assert ".env" in ignored
    assert "var/" in ignored


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})}
    )
    assert result.returncode == 0, f"{' '.join(command[2:])} failed:\n{result.stdout}\n{result.stderr}"


def test_the_template_keeps_fewer_than_60_branches() -> None:
    """Variants differ by whole files, fragments chosen by the answer's name and rendered values: the few
    `{% if %}`s left (each `{% elif %}` counts, and each file or folder whose name is conditional) choose between
    SQL dialects or files. The service's own runtime pages are Jinja2 of the service's, not of the template."""
    template = REPO / "template"
    runtime_pages = template / "src" / "{{package_name}}" / "web" / "templates"
    branch = re.compile(r"\{%-? *(if|elif)\b")

    counts: dict[str, int] = {}
    for path in sorted(template.rglob("*")):
        if path.is_relative_to(runtime_pages):
            continue
        count = len(branch.findall(path.name))
        if path.is_file():
            count += len(branch.findall(path.read_text(encoding="utf-8")))
        if count:
            counts[path.relative_to(template).as_posix()] = count
    total = sum(counts.values())

    most = sorted(counts.items(), key=lambda item: -item[1])[:10]
    assert total < 60, f"{total} branches in the template; most in: " + ", ".join(f"{p} ({n})" for p, n in most)
