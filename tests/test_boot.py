"""Generated services boot with uvicorn and serve the seed's flow over real HTTP."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import yaml
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from dotenv import dotenv_values

from .support import REPO
from .support.services import (
    NO_MAIL_SERVER,
    PACKAGE,
    PASSWORD,
    TEST_TOTP_KEY,
    password_token,
    run_module,
    running_service,
)

ALGORITHMS = yaml.safe_load((REPO / "copier.yml").read_text(encoding="utf-8"))["jwt_algorithm"]["choices"]


@pytest.fixture
def project_copy(make_project: Callable[..., Path], tmp_path: Path) -> Callable[..., Path]:
    """A private copy of a rendered project: booting it writes keys and a database into it."""

    def copy(**answers: object) -> Path:
        return Path(shutil.copytree(make_project(**answers), tmp_path / "service"))

    return copy


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_service_boots_and_serves_the_token_flow(project_copy: Callable[..., Path], algorithm: str) -> None:
    project = project_copy(jwt_algorithm=algorithm)
    created = run_module(project, PACKAGE, "create-user", "alice", "--password", PASSWORD, "--scope", "profile")
    assert created.returncode == 0, created.stderr

    log: list[str] = []
    with running_service(project, PACKAGE, log=log) as base_url:
        response = password_token(base_url, "alice")
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        assert jwt.get_unverified_header(token)["alg"] == algorithm

        protected = httpx.get(f"{base_url}/protected", headers={"Authorization": f"Bearer {token}"})
        assert protected.status_code == 200
        assert protected.json() == {"message": "Hello, alice! This is a protected route."}

        missing = httpx.get(f"{base_url}/protected")
        assert missing.status_code == 401
        metadata = f"{base_url}/.well-known/oauth-protected-resource"
        assert missing.headers["www-authenticate"] == f'Bearer realm="my_service", resource_metadata="{metadata}"'
        assert httpx.get(metadata).json()["resource"] == base_url

        garbage = httpx.get(f"{base_url}/protected", headers={"Authorization": "Bearer garbage"})
        assert garbage.status_code == 401
        assert 'error="invalid_token"' in garbage.headers["www-authenticate"]

        expired = _expired_copy(project, token, algorithm)
        refused = httpx.get(f"{base_url}/protected", headers={"Authorization": f"Bearer {expired}"})
        assert refused.status_code == 401
        assert 'error="invalid_token"' in refused.headers["www-authenticate"]

        no_scope = httpx.get(f"{base_url}/reports", headers={"Authorization": f"Bearer {token}"})
        assert no_scope.status_code == 403
        assert 'error="insufficient_scope", scope="reports:read"' in no_scope.headers["www-authenticate"]

        wrong = password_token(base_url, "alice", "not the password")
        assert wrong.status_code == 400
        assert wrong.json() == {"error": "invalid_grant", "error_description": "Incorrect username or password"}

        in_query = httpx.get(f"{base_url}/protected", params={"access_token": token})
        assert in_query.status_code == 401

        claims = _verify_independently(base_url, token, algorithm, project)
    assert "/protected?access_token=[redacted]" in log[0]
    assert token not in log[0]
    assert PASSWORD not in log[0]
    assert "not the password" not in log[0]
    assert claims["iss"] == base_url
    assert claims["sub"] == "alice"
    assert claims["scope"] == "profile"


def _verify_independently(base_url: str, token: str, algorithm: str, project: Path) -> dict[str, Any]:
    """Verify with a JOSE library the service does not use (PyJWT) and only what the service
    publishes: its RFC 8414 metadata, then the JWKS it names. A shared secret is never published, so
    HS* tokens are checked with the secret the development service wrote to its .env."""
    metadata = httpx.get(f"{base_url}/.well-known/oauth-authorization-server").json()
    assert metadata["issuer"] == base_url
    if algorithm.startswith("HS"):
        published = httpx.get(metadata["jwks_uri"]).json()["keys"]
        assert {jwk["kty"] for jwk in published} == {"RSA"}, (
            "the ID token keys only: a shared secret is never published"
        )
        key: Any = str(dotenv_values(project / ".env")["SECRET_KEY"])
    else:
        jwks = httpx.get(metadata["jwks_uri"]).json()
        assert all(not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk) for jwk in jwks["keys"])
        (jwk,) = [jwk for jwk in jwks["keys"] if jwk["kid"] == jwt.get_unverified_header(token)["kid"]]
        assert jwk["alg"] == algorithm
        key = jwt.PyJWK(jwk, algorithm="EdDSA" if algorithm == "Ed25519" else algorithm).key
    verified = _pyjws().decode_complete(token, key, algorithms=[algorithm])
    assert verified["header"]["typ"] == "at+jwt"
    claims: dict[str, Any] = json.loads(verified["payload"])
    assert claims["iss"] == claims["aud"] == metadata["issuer"]
    assert time.time() < claims["exp"] and claims["jti"]
    return claims


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

    production = {
        "ENVIRONMENT": "production",
        "ISSUER": "https://auth.example.com",
        "SMTP_URL": NO_MAIL_SERVER,
        "TOTP_ENCRYPTION_KEYS": TEST_TOTP_KEY,
    }

    result = run_module(project, PACKAGE, "serve", env=production)

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: a private key is required in production: set PRIVATE_KEY or PRIVATE_KEY_FILE "
        "(var/keys/signing.pem does not exist)"
    ]
    assert not (project / "var" / "keys").exists()


def test_production_requires_an_issuer(project_copy: Callable[..., Path]) -> None:
    project = project_copy()

    result = run_module(
        project, PACKAGE, "serve", env={"ENVIRONMENT": "production", "SECRET_KEY": "x" * 64, "SMTP_URL": NO_MAIL_SERVER}
    )

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
    payload = json.dumps(claims).encode()
    return _pyjws().encode(payload, key, algorithm=algorithm, headers=jwt.get_unverified_header(token))  # type: ignore[arg-type]


def _pyjws() -> jwt.PyJWS:
    """PyJWT's JWS, which knows RFC 9864's Ed25519 too (EdDSA with an Ed25519 key, by its new name)."""
    signatures = jwt.PyJWS()
    signatures.register_algorithm("Ed25519", jwt.algorithms.OKPAlgorithm())
    return signatures
