"""Generated services as OpenID Providers, seen by Authlib's OpenID Connect client: discovery document only,
ID tokens validated with the published keys (audience pinned to the client, nonce checked, at_hash), UserInfo,
and RP-initiated logout; then a user signs in, is recognised and signs out in real headless Chromium."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken
from playwright.sync_api import Page, expect

from .support.browser import callback_server, hidden_fields
from .support.services import PACKAGE, PASSWORD, USERNAME, run_module, running_service

REDIRECT_URI = "https://rp.example.com/auth"
SIGNED_OUT_URI = "https://rp.example.com/bye"
PROFILE = ("--name", "Alice Liddell", "--given-name", "Alice", "--family-name", "Liddell")


@dataclass(frozen=True)
class Provider:
    project: Path
    configuration: dict[str, Any]

    def register(self, *options: str) -> dict[str, str]:
        result = run_module(self.project, PACKAGE, "create-client", "Relying Party", *options, "--json")
        assert result.returncode == 0, result.stderr
        credentials: dict[str, str] = json.loads(result.stdout)
        return credentials


@pytest.fixture
def boot_provider(make_project: Callable[..., Path], tmp_path: Path) -> Iterator[Callable[..., Provider]]:
    """Boot a private copy of a rendered project with a user who has a profile; read only its discovery document."""
    with ExitStack() as running:

        def start(**answers: object) -> Provider:
            project = Path(shutil.copytree(make_project(**answers), tmp_path / "provider"))
            email = ("--email", "alice@example.com", "--email-verified")
            created = run_module(project, PACKAGE, "create-user", USERNAME, "--password", PASSWORD, *PROFILE, *email)
            assert created.returncode == 0, created.stderr
            base_url = running.enter_context(running_service(project, PACKAGE))
            response = httpx.get(f"{base_url}/.well-known/openid-configuration")
            assert response.status_code == 200, response.text
            configuration: dict[str, Any] = response.json()
            assert configuration["issuer"] == base_url
            return Provider(project, configuration)

        yield start


def validated_id_token(provider: Provider, token: dict[str, Any], client_id: str, nonce: str | None) -> dict[str, Any]:
    """What an Authlib relying party does with the token response: the keys from jwks_uri, the algorithms the
    discovery document offers, `iss` and `aud` pinned, the nonce and at_hash checked."""
    jwks = JsonWebKey.import_key_set(httpx.get(provider.configuration["jwks_uri"]).json())
    claims = jwt.decode(
        token["id_token"],
        jwks,
        claims_cls=CodeIDToken,
        claims_options={
            "iss": {"essential": True, "value": provider.configuration["issuer"]},
            "aud": {"essential": True, "value": client_id},
        },
        claims_params={"nonce": nonce, "client_id": client_id, "access_token": token["access_token"]},
    )
    claims.validate(leeway=5)
    assert claims.header["alg"] in provider.configuration["id_token_signing_alg_values_supported"]
    return dict(claims)


def sign_in_over_http(authorization_url: str) -> str:
    """A user who signs in and allows, through the HTML forms; the callback URL the browser is sent to."""
    with httpx.Client() as user_agent:
        login_url, login_fields = hidden_fields(user_agent.get(authorization_url), "/login")
        signed_in = user_agent.post(login_url, data={**login_fields, "username": USERNAME, "password": PASSWORD})
        assert signed_in.status_code == 303, signed_in.text
        consent = user_agent.get(signed_in.headers["location"])
        assert "Shared: full name" in consent.text
        consent_url, consent_fields = hidden_fields(consent, "/authorize")
        decided = user_agent.post(consent_url, data={**consent_fields, "decision": "approve"})
    assert decided.status_code == 303, decided.text
    return str(decided.headers["location"])


@pytest.mark.parametrize(
    ("algorithm", "id_token_algorithm"),
    [("HS256", "RS256"), ("RS256", "RS256"), ("ES256", "ES256"), ("EdDSA", "EdDSA")],
)
def test_an_authlib_relying_party_signs_a_user_in(
    boot_provider: Callable[..., Provider], algorithm: str, id_token_algorithm: str
) -> None:
    provider = boot_provider(jwt_algorithm=algorithm)
    configuration = provider.configuration
    assert id_token_algorithm in configuration["id_token_signing_alg_values_supported"]
    scopes = ("--scope", "openid", "--scope", "profile", "--scope", "email")
    credentials = provider.register(
        "--redirect-uri", REDIRECT_URI, *scopes, "--id-token-alg", id_token_algorithm, "--grant-type",
        "authorization_code", "--grant-type", "refresh_token",
    )  # fmt: skip
    nonce = generate_token(20)
    verifier = generate_token(48)
    with OAuth2Client(
        credentials["client_id"],
        credentials["client_secret"],
        scope="openid profile email",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    ) as relying_party:
        url, state = relying_party.create_authorization_url(
            configuration["authorization_endpoint"], code_verifier=verifier, nonce=nonce
        )
        callback = sign_in_over_http(url)
        token = dict(
            relying_party.fetch_token(
                configuration["token_endpoint"], authorization_response=callback, code_verifier=verifier, state=state
            )
        )
        claims = validated_id_token(provider, token, credentials["client_id"], nonce)
        userinfo = relying_party.get(configuration["userinfo_endpoint"])
        refreshed = dict(relying_party.refresh_token(configuration["token_endpoint"]))

    assert claims["aud"] == credentials["client_id"]
    assert claims["nonce"] == nonce
    assert claims["sub"] != USERNAME
    assert userinfo.status_code == 200, userinfo.text
    assert userinfo.json() == {
        "sub": claims["sub"],
        "name": "Alice Liddell",
        "given_name": "Alice",
        "family_name": "Liddell",
        "preferred_username": USERNAME,
        "updated_at": userinfo.json()["updated_at"],
        "email": "alice@example.com",
        "email_verified": True,
    }
    again = validated_id_token(provider, refreshed, credentials["client_id"], None)
    assert (again["sub"], again["auth_time"]) == (claims["sub"], claims["auth_time"])

    # The same claims under a wrong audience or nonce are refused by the relying party.
    with pytest.raises(Exception, match="aud"):
        validated_id_token(provider, token, "another-client", nonce)
    with pytest.raises(Exception, match="nonce"):
        validated_id_token(provider, token, credentials["client_id"], "another nonce")


def test_a_browser_user_signs_in_reads_userinfo_and_signs_out(
    boot_provider: Callable[..., Provider],
    page: Page,
) -> None:
    provider = boot_provider(jwt_algorithm="ES256")
    configuration = provider.configuration
    with callback_server() as (redirect_uri, received):
        signed_out_uri = redirect_uri.replace("/callback", "/bye")
        credentials = provider.register(
            "--public", "--redirect-uri", redirect_uri, "--scope", "openid", "--scope", "profile",
            "--post-logout-redirect-uri", signed_out_uri,
        )  # fmt: skip
        nonce = generate_token(20)
        verifier = generate_token(48)
        with OAuth2Client(
            credentials["client_id"], redirect_uri=redirect_uri, scope="openid profile", code_challenge_method="S256"
        ) as relying_party:
            url, state = relying_party.create_authorization_url(
                configuration["authorization_endpoint"], code_verifier=verifier, nonce=nonce, login_hint=USERNAME
            )
            page.goto(url)
            expect(page.get_by_label("Username")).to_have_value(USERNAME)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in", exact=True).click()
            expect(page.locator("ul.scopes li")).to_have_count(2)
            expect(page.locator("ul.scopes")).to_contain_text("full name, given name, family name, username")
            page.get_by_role("button", name="Allow", exact=True).click()
            page.wait_for_url(lambda address: address.startswith(redirect_uri + "?"))
            token = dict(
                relying_party.fetch_token(
                    configuration["token_endpoint"],
                    authorization_response=page.url,
                    code_verifier=verifier,
                    state=state,
                )
            )
            claims = validated_id_token(provider, token, credentials["client_id"], nonce)
            userinfo = relying_party.get(configuration["userinfo_endpoint"]).json()
            silent, _ = relying_party.create_authorization_url(
                configuration["authorization_endpoint"], code_verifier=verifier, prompt="none"
            )
        assert userinfo == {
            "sub": claims["sub"],
            "name": "Alice Liddell",
            "given_name": "Alice",
            "family_name": "Liddell",
            "preferred_username": USERNAME,
            "updated_at": userinfo["updated_at"],
        }

        logout_state = generate_token(16)
        logout = httpx.URL(configuration["end_session_endpoint"]).copy_merge_params(
            {"id_token_hint": token["id_token"], "post_logout_redirect_uri": signed_out_uri, "state": logout_state}
        )
        page.goto(str(logout))
        page.wait_for_url(lambda address: address.startswith(signed_out_uri))
        assert parse_qs(urlsplit(page.url).query) == {"state": [logout_state]}

        # Signed out for real: the same client asking silently now hears login_required.
        page.goto(silent)
        page.wait_for_url(lambda address: address.startswith(redirect_uri + "?"))
        assert parse_qs(urlsplit(page.url).query)["error"] == ["login_required"]
    assert len(received) == 2
