"""The files a generated project ships for CI and commits: well formed, pinned, and matching the answers."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")
SERVICES = {
    ("sqlite", "database"): set(),
    ("sqlite", "redis"): {"redis"},
    ("postgresql", "database"): {"postgres"},
    ("postgresql", "redis"): {"postgres", "redis"},
    ("mysql", "database"): {"mariadb"},
    ("mysql", "redis"): {"mariadb", "redis"},
}


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


@pytest.mark.parametrize(("storage", "token_store"), list(SERVICES), ids=lambda value: str(value))
def test_the_ci_workflow_is_pinned_read_only_and_starts_the_chosen_servers(
    make_project: Callable[..., Path], storage: str, token_store: str
) -> None:
    project = make_project(storage=storage, token_store=token_store)
    path = project / ".github" / "workflows" / "ci.yml"
    workflow = _load(path)
    job = workflow["jobs"]["test"]
    steps = job["steps"]
    uses = [step["uses"] for step in steps if "uses" in step]

    assert workflow["permissions"] == {"contents": "read"}
    assert uses and all(PINNED.match(action) for action in uses), uses
    for line in path.read_text(encoding="utf-8").splitlines():
        if "uses:" in line:
            assert re.search(r"#\s*v\d+\.\d+\.\d+$", line), f"no version comment: {line}"
    checkout = next(step for step in steps if step.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["persist-credentials"] is False
    assert set(job.get("services", {})) == SERVICES[(storage, token_store)]
    commands = " ".join(step.get("run", "") for step in steps)
    for tool in ("ruff check", "ruff format --check", "lint-imports", "mypy", "pytest"):
        assert tool in commands
    # The locked versions, and a failure when uv.lock no longer matches pyproject.toml.
    assert "uv lock --check" in commands
    assert "uv sync --locked --extra dev" in commands
    assert "pip install -e" not in commands


def test_the_pre_commit_hooks_are_local_and_guard_against_conflict_markers(make_project: Callable[..., Path]) -> None:
    config = _load(make_project() / ".pre-commit-config.yaml")
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}

    assert [repo["repo"] for repo in config["repos"]] == ["local"], "hooks must run offline"
    assert {"ruff", "ruff-format", "mypy", "lint-imports", "no-merge-conflict-markers"} <= set(hooks)
    assert hooks["lint-imports"]["entry"] == ".venv/bin/lint-imports"
    assert hooks["lint-imports"]["pass_filenames"] is False
    marker = re.compile(hooks["no-merge-conflict-markers"]["entry"], re.MULTILINE)
    assert marker.search("x = 1\n<<<<<<< before updating\nx = 2\n=======\nx = 3\n>>>>>>> after updating\n")
    assert not marker.search("Title\n=====\n\nInstall\n=======\n\na == b\n")


COMPOSE_SERVICES = {
    ("sqlite", "database"): {"migrate", "service"},
    ("sqlite", "redis"): {"migrate", "service", "redis"},
    ("postgresql", "database"): {"migrate", "service", "postgres"},
    ("postgresql", "redis"): {"migrate", "service", "postgres", "redis"},
    ("mysql", "database"): {"migrate", "service", "mariadb"},
    ("mysql", "redis"): {"migrate", "service", "mariadb", "redis"},
}
REQUIRED_VARIABLE = re.compile(r"\$\{(\w+):\?")


@pytest.mark.parametrize(("storage", "token_store"), list(COMPOSE_SERVICES), ids=lambda value: str(value))
@pytest.mark.parametrize("algorithm", ["HS256", "ES256"])
def test_the_compose_file_runs_migrations_first_and_waits_for_healthy_servers(
    make_project: Callable[..., Path], storage: str, token_store: str, algorithm: str
) -> None:
    project = make_project(storage=storage, token_store=token_store, jwt_algorithm=algorithm)
    text = (project / "compose.yaml").read_text(encoding="utf-8")
    compose = yaml.safe_load(text)
    services = compose["services"]
    servers = set(services) - {"migrate", "service"}
    # Every setting in .env.production reaches the service, not only those the file names.
    assert services["migrate"]["env_file"] == services["service"]["env_file"] == ".env.production"

    assert set(services) == COMPOSE_SERVICES[(storage, token_store)]
    assert services["migrate"]["command"][-1] == "migrate"
    assert services["migrate"]["image"] == services["service"]["image"]
    assert "build" in services["migrate"]
    depends = services["service"]["depends_on"]
    assert depends["migrate"] == {"condition": "service_completed_successfully"}
    for server in servers:
        assert "healthcheck" in services[server]
        assert "/" not in services[server]["image"], "official images, named plainly"
        assert server in depends or server in services["migrate"]["depends_on"]
        for waiting in (depends, services["migrate"].get("depends_on", {})):
            if server in waiting:
                assert waiting[server] == {"condition": "service_healthy"}
    assert services["service"]["healthcheck"]["test"][-2:] == ["check-health", "--ready"]
    settings = services["service"]["environment"]
    assert settings["ENVIRONMENT"] == "production"
    # PORT chooses the host's side only; inside, the service and its health check stay on 8000.
    assert settings["PORT"] == "8000"
    assert services["service"]["ports"] == ["127.0.0.1:${PORT:-8000}:8000"]
    assert settings["DATABASE_URL"].split("://")[0] in {"sqlite", "postgresql", "mysql"}
    if storage == "sqlite":
        assert "data:/app/var" in services["service"]["volumes"]
    if algorithm.startswith("HS"):
        assert set(compose["secrets"]) == {"id_token_key"}, "a shared secret is no compose secret file"
    else:
        assert settings["PRIVATE_KEY_FILE"] == "/run/secrets/signing_key"
        assert compose["secrets"]["signing_key"]["file"] == "./secrets/signing.pem"
    assert settings["ID_TOKEN_KEY_FILE"] == "/run/secrets/id_token_key"
    assert compose["secrets"]["id_token_key"]["file"] == "./secrets/id_token.pem"
    # Every value the file demands is in the example settings, and the real ones stay out of git and the image.
    example = (project / ".env.production.example").read_text(encoding="utf-8")
    for variable in set(REQUIRED_VARIABLE.findall(text)):
        assert re.search(rf"^{variable}=", example, re.MULTILINE), variable
    ignored = (project / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert {".env.production", "secrets/"} <= set(ignored)
    assert {".env.*", "secrets/"} <= set((project / ".dockerignore").read_text(encoding="utf-8").splitlines())


def test_the_image_health_check_is_liveness(make_project: Callable[..., Path]) -> None:
    dockerfile = (make_project() / "Dockerfile").read_text(encoding="utf-8")

    healthcheck = dockerfile[dockerfile.index("HEALTHCHECK") :].split("\n\n")[0]
    assert '"check-health"]' in healthcheck
    assert "--ready" not in healthcheck
    assert re.search(r"^USER app$", dockerfile, re.MULTILINE)
    # The base image in a FROM line of its own, which Dependabot reads; BASE_IMAGE names it by default.
    assert re.search(r"^FROM python:3\.\d+-slim AS python-base$", dockerfile, re.MULTILINE)
    assert re.search(r"^ARG BASE_IMAGE=python-base$", dockerfile, re.MULTILINE)


def test_the_image_installs_exactly_the_locked_versions(make_project: Callable[..., Path]) -> None:
    project = make_project()
    dockerfile = (project / "Dockerfile").read_text(encoding="utf-8")
    workflow = (project / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")

    assert "COPY pyproject.toml uv.lock ./" in dockerfile
    assert "uv export --quiet --frozen --no-dev" in dockerfile
    assert "pip install --require-hashes -r requirements.txt" in dockerfile
    # The dependencies' layer comes before the sources', so a change of code reuses it.
    assert dockerfile.index("--require-hashes") < dockerfile.index("COPY src ./src")
    # One uv version, in the image and in CI.
    pinned = set(re.findall(r"uv==([\d.]+)", dockerfile + workflow))
    assert len(pinned) == 1, pinned
    ignored = (project / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert not {"uv.lock", "*.lock", "uv.*"} & set(ignored)


def test_dependabot_updates_python_actions_and_the_base_image_weekly(make_project: Callable[..., Path]) -> None:
    config = _load(make_project() / ".github" / "dependabot.yml")

    assert config["version"] == 2
    updates = {update["package-ecosystem"]: update for update in config["updates"]}
    assert set(updates) == {"uv", "github-actions", "docker"}
    for update in updates.values():
        assert update["directory"] == "/"
        assert update["schedule"]["interval"] == "weekly"
