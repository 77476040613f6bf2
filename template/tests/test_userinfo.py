"""The UserInfo endpoint (OpenID Connect Core §5.3): the claims of the granted scopes, and RFC 6750 errors."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from .helpers import ISSUER, Register, bearer, get_token
from .openid_flow import (
    SCOPE,
    Profile,
    disable,
    give_profile,
    relying_party,
    sign_in_and_get_tokens,
    stored_user,
    verify_id_token,
)
from .test_authorization_code import Flow

PROFILE = {"name": "Alice Liddell", "given_name": "Alice", "family_name": "Liddell"}
EMAIL = {"email": "alice@example.com", "email_verified": True}


@pytest.fixture
def oidc(client: TestClient, user: str, register: Register) -> Flow:
    give_profile(client, Profile.model_validate({**PROFILE, **EMAIL}))
    return relying_party(client, register)


def tokens_for(flow: Flow, scope: str) -> str:
    """An access token for these scopes, from a sign-in in a new browser session."""
    flow.client.cookies.clear()
    access_token: str = sign_in_and_get_tokens(flow, scope=scope)["access_token"]
    return access_token


def test_claims_follow_the_granted_scopes(oidc: Flow) -> None:
    openid_only = oidc.client.get("/userinfo", headers=bearer(tokens_for(oidc, "openid")))
    profile = oidc.client.get("/userinfo", headers=bearer(tokens_for(oidc, "openid profile")))
    email = oidc.client.get("/userinfo", headers=bearer(tokens_for(oidc, "openid email")))

    subject = stored_user(oidc.client).subject
    assert openid_only.json() == {"sub": subject}
    updated_at = profile.json()["updated_at"]
    assert isinstance(updated_at, int)
    assert profile.json() == {"sub": subject, **PROFILE, "preferred_username": "alice", "updated_at": updated_at}
    assert email.json() == {"sub": subject, **EMAIL}
    assert openid_only.headers["cache-control"] == "no-store"


def test_the_subject_is_the_id_tokens(oidc: Flow) -> None:
    tokens = sign_in_and_get_tokens(oidc, scope=SCOPE)

    _, claims = verify_id_token(oidc.client, tokens["id_token"])
    info = oidc.client.get("/userinfo", headers=bearer(tokens["access_token"])).json()

    assert info["sub"] == claims["sub"]


def test_get_and_both_posts_answer_alike(oidc: Flow) -> None:
    token = tokens_for(oidc, SCOPE)

    by_get = oidc.client.get("/userinfo", headers=bearer(token))
    by_post_header = oidc.client.post("/userinfo", headers=bearer(token))
    by_post_body = oidc.client.post("/userinfo", data={"access_token": token})

    assert by_get.status_code == by_post_header.status_code == by_post_body.status_code == 200
    assert by_get.json() == by_post_header.json() == by_post_body.json()


def test_no_token_gets_a_plain_challenge(oidc: Flow, settings_realm: str) -> None:
    for response in (oidc.client.get("/userinfo"), oidc.client.post("/userinfo", data={"other": "x"})):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == (
            f'Bearer realm="{settings_realm}", resource_metadata="{ISSUER}/.well-known/oauth-protected-resource"'
        )


def test_another_scheme_is_no_token(oidc: Flow) -> None:
    response = oidc.client.get("/userinfo", headers={"Authorization": "Basic YWxpY2U6c2VjcmV0"})

    assert response.status_code == 401
    assert "error=" not in response.headers["www-authenticate"]


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "x" * 20_000])
def test_an_invalid_token_is_invalid_token(oidc: Flow, token: str) -> None:
    response = oidc.client.get("/userinfo", headers=bearer(token))

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_a_token_without_openid_is_insufficient_scope(oidc: Flow) -> None:
    response = oidc.client.get("/userinfo", headers=bearer(tokens_for(oidc, "profile email")))

    assert response.status_code == 403
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="openid"' in challenge


def test_a_password_grant_token_without_openid_is_refused_too(client: TestClient, user: str) -> None:
    response = client.get("/userinfo", headers=bearer(get_token(client)))

    assert response.status_code == 403


def test_a_disabled_user_gets_nothing(oidc: Flow) -> None:
    token = tokens_for(oidc, SCOPE)
    disable(oidc.client)

    response = oidc.client.get("/userinfo", headers=bearer(token))

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_the_token_sent_twice_is_an_invalid_request(oidc: Flow) -> None:
    token = tokens_for(oidc, SCOPE)

    both = oidc.client.post("/userinfo", headers=bearer(token), data={"access_token": token})
    repeated = oidc.client.post("/userinfo", data={"access_token": [token, token]})
    two_headers = oidc.client.get(
        "/userinfo", headers=[("Authorization", f"Bearer {token}"), ("Authorization", f"Bearer {token}")]
    )

    for response in (both, repeated, two_headers):
        assert response.status_code == 400
        assert 'error="invalid_request"' in response.headers["www-authenticate"]


def test_hostile_bodies_get_no_server_error(oidc: Flow) -> None:
    token = tokens_for(oidc, SCOPE)
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    not_utf8 = oidc.client.post("/userinfo", content=b"access_token=\xff\xfe", headers=form)
    oversized = oidc.client.post("/userinfo", content=b"access_token=" + b"a" * 2_000_000, headers=form)
    many_fields = oidc.client.post("/userinfo", content=b"&".join([b"x=1"] * 5000), headers=form)
    json_body = oidc.client.post("/userinfo", json={"access_token": token})
    empty_bearer = oidc.client.get("/userinfo", headers={"Authorization": "Bearer "})

    assert not_utf8.status_code == 401
    assert oversized.status_code in {400, 401, 413}
    assert many_fields.status_code in {400, 401}
    assert json_body.status_code == 401, "only a form body may carry the token (RFC 6750 §2.2)"
    assert empty_bearer.status_code == 400


def test_concurrent_requests_all_get_the_same_claims(oidc: Flow) -> None:
    token = tokens_for(oidc, SCOPE)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: oidc.client.get("/userinfo", headers=bearer(token)), range(32)))

    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.text for answer in answers}) == 1
