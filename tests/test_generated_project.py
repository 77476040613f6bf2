"""A generated project stands on its own: its own tests pass, and its README's two commands
work in a fresh virtual environment that knows nothing but the project's pyproject.toml."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from .support.services import PASSWORD, password_token, project_env, run_own_tests, running_service


def test_own_test_suite_passes(make_project: Callable[..., Path], tmp_path: Path) -> None:
    # Every test, on the default answers; tests/test_storage.py runs the other storages and algorithms.
    project = Path(shutil.copytree(make_project(), tmp_path / "project"))

    run_own_tests(project)

    assert not list(project.glob("var/*")), "tests must not touch the project's own database"


@pytest.mark.slow
def test_readme_commands_install_run_and_test_in_a_fresh_venv(
    make_project: Callable[..., Path], tmp_path: Path
) -> None:
    project = Path(shutil.copytree(make_project(), tmp_path / "project"))
    install_and_run, test = _readme_commands(project / "README.md")
    *install, run = install_and_run.split(" && ")

    installed = subprocess.run(
        " && ".join(install),
        shell=True,
        cwd=project,
        env=project_env(None),
        capture_output=True,
        text=True,
        check=False,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    created = subprocess.run(
        [".venv/bin/python", "-m", "my_service", "create-user", "alice", "--password", PASSWORD],
        cwd=project,
        env=project_env(None),
        capture_output=True,
        text=True,
        check=False,
    )
    assert created.returncode == 0, created.stderr

    with running_service(project, "my_service", command=lambda port: [*shlex.split(run), "--port", str(port)]) as url:
        token = password_token(url, "alice").json()["access_token"]
        protected = httpx.get(f"{url}/protected", headers={"Authorization": f"Bearer {token}"})
        assert protected.json() == {"message": "Hello, alice! This is a protected route."}

    # The whole suite passes in test_own_test_suite_passes. Here: the fresh environment has what every test
    # module imports, and the command runs tests.
    def run_tests(*arguments: str) -> subprocess.CompletedProcess[str]:
        command = shlex.join([*shlex.split(test), *arguments])
        return subprocess.run(
            command, shell=True, cwd=project, env=project_env(None), capture_output=True, text=True, check=False
        )

    collected = run_tests("--collect-only", "-q")
    assert collected.returncode == 0, collected.stdout + collected.stderr
    assert re.search(r"\d+ tests collected", collected.stdout), collected.stdout[-2000:]
    tested = run_tests("tests/test_resources.py", "tests/test_token_endpoint.py")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert re.search(r"\d+ passed", tested.stdout)

    # The pre-commit hooks run offline from the same environment, and refuse an unresolved conflict.
    def pre_commit() -> subprocess.CompletedProcess[str]:
        command = "git init -q && git add -A && .venv/bin/pre-commit run --all-files"
        return subprocess.run(
            command, shell=True, cwd=project, env=project_env(None), capture_output=True, text=True, check=False
        )

    hooked = pre_commit()
    assert hooked.returncode == 0, hooked.stdout + hooked.stderr
    (project / "conflicted.md").write_text("<<<<<<< before updating\na\n=======\nb\n>>>>>>> after updating\n")
    refused = pre_commit()
    assert refused.returncode != 0
    assert "conflicted.md" in refused.stdout


def _readme_commands(readme: Path) -> tuple[str, str]:
    """The two commands under the README's "Two commands" heading."""
    section = readme.read_text(encoding="utf-8").split("## Two commands", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)\n```", section, re.S)
    assert len(blocks) == 2, section
    return blocks[0].strip(), blocks[1].strip()
