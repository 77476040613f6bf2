"""The benchmark scripts still run (once, on the tiniest setting); their numbers are not tested."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .support import REPO

pytestmark = pytest.mark.slow


def test_generator_benchmark_runs() -> None:
    result = subprocess.run(
        [sys.executable, "bench/generator.py", "--runs", "1", "--source"], cwd=REPO, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    assert "| `oauthgen new --defaults --no-git` |" in result.stdout
    assert "| `oauthgen new --defaults` (and its first commit) |" in result.stdout


def test_service_benchmark_runs() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "bench/service.py",
            "--quick",
            "--seconds",
            "1",
            "--runs",
            "1",
            "--connections",
            "4",
            "--storm",
            "20",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
    assert "| bare FastAPI `async def` route (the ceiling) |" in result.stdout
    assert "| seed: `/protected`, a new token each request |" in result.stdout
    assert "| HS256: `/protected`, one token |" in result.stdout
    assert "| HS256: `/protected`, a new token each request |" in result.stdout
    assert "| resource server, ES256 issuer: open route (`/health/live`) |" in result.stdout
    assert "| resource server, ES256 issuer: `/protected`, one token |" in result.stdout
    assert "| resource server, ES256 issuer: `/protected`, a new token each request |" in result.stdout
    assert "| HS256: `/protected`, one token, with metrics (METRICS_TOKEN set) |" in result.stdout
    assert "| SQLite: login storm, 20 at once |" in result.stdout
