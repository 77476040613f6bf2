"""Generated services boot with uvicorn and serve the seed's flow over real HTTP."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from dotenv import dotenv_values

from .helpers import PASSWORD, password_token, run_module, running_service

PACKAGE = "my_service"


@pytest.fixture
def project_copy(make_project: Callable[..., Path], tmp_path: Path) -> Callable[..., Path]:
    """A private copy of a rendered project: booting it writes keys and a database into it."""

    def copy(**answers: object) -> Path:
        return Path(shutil.copytree(make_project(**answers), tmp_path / "service"))

    return copy


@pytest.mark.parametrize("algorithm", ["HS256", "RS256", "PS384", "ES256", "EdDSA"])
def test_service_boots_and_serves_the_token_flow(project_copy: Callable[..., Path], algorithm: str) -> None:
    project = project_copy(jwt_algorithm=algorithm)
    created = run_module(project, PACKAGE, "create-user", "alice", "--password", PASSWORD)
    assert created.returncode == 0, created.stderr

    with running_service(project, PACKAGE) as base_url:
        response = password_token(base_url, "alice")
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        assert jwt.get_unverified_header(token)["alg"] == algorithm

        protected = httpx.get(f"{base_url}/protected", headers={"Authorization": f"Bearer {token}"})
        assert protected.status_code == 200
        assert protected.json() == {"message": "Hello, alice! This is a protected route."}

        missing = httpx.get(f"{base_url}/protected")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer realm=")

        garbage = httpx.get(f"{base_url}/protected", headers={"Authorization": "Bearer garbage"})
        assert garbage.status_code == 401
        assert 'error="invalid_token"' in garbage.headers["www-authenticate"]

        expired = _expired_copy(project, token, algorithm)
        refused = httpx.get(f"{base_url}/protected", headers={"Authorization": f"Bearer {expired}"})
        assert refused.status_code == 401
        assert 'error="invalid_token"' in refused.headers["www-authenticate"]

        wrong = password_token(base_url, "alice", "not the password")
        assert wrong.status_code == 400
        assert wrong.json()["error"] == "invalid_grant"


def test_development_secret_is_created_once_and_kept(project_copy: Callable[..., Path]) -> None:
    project = project_copy()
    run_module(project, PACKAGE, "create-user", "alice", "--password", PASSWORD)

    issuer = {"ISSUER": "http://auth.test"}  # the ports differ between the two runs

    with running_service(project, PACKAGE, env=issuer) as base_url:
        token = password_token(base_url, "alice").json()["access_token"]
    secret = dotenv_values(project / ".env")["SECRET_KEY"]
    assert secret is not None and len(secret) >= 64

    with running_service(project, PACKAGE, env=issuer) as base_url:
        again = httpx.get(f"{base_url}/protected", headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 200, "a restart must keep the development secret"
    assert dotenv_values(project / ".env")["SECRET_KEY"] == secret


def test_production_refuses_to_start_without_a_key(project_copy: Callable[..., Path]) -> None:
    project = project_copy(jwt_algorithm="ES256")

    production = {"ENVIRONMENT": "production", "ISSUER": "https://auth.example.com"}

    result = run_module(project, PACKAGE, "serve", env=production)

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: a private key is required in production: set PRIVATE_KEY or PRIVATE_KEY_FILE "
        "(var/keys/signing.pem does not exist)"
    ]
    assert not (project / "var" / "keys").exists()


def test_production_requires_an_issuer(project_copy: Callable[..., Path]) -> None:
    project = project_copy()

    result = run_module(project, PACKAGE, "serve", env={"ENVIRONMENT": "production", "SECRET_KEY": "x" * 64})

    assert result.returncode == 2
    assert "ISSUER must be set in production" in result.stderr
    assert "Traceback" not in result.stderr


def _expired_copy(project: Path, token: str, algorithm: str) -> str:
    """The same token re-signed with the service's own key, expired an hour ago."""
    if algorithm.startswith("HS"):
        key: object = dotenv_values(project / ".env")["SECRET_KEY"]
    else:
        key = load_pem_private_key((project / "var" / "keys" / "signing.pem").read_bytes(), password=None)
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["exp"] = int(time.time()) - 3600
    claims["iat"] = claims["exp"] - 60
    return jwt.encode(claims, key, algorithm=algorithm, headers=jwt.get_unverified_header(token))  # type: ignore[arg-type]
