"""RP-Initiated Logout 1.0: the session ends, and the browser returns only to a registered address.

Without an `id_token_hint` naming the signed-in user, the user is asked first (§2)."""

from concurrent.futures import ThreadPoolExecutor

import httpx2
import pytest
from fastapi.testclient import TestClient

from .helpers import PASSWORD, Register, add_user
from .openid_flow import LOGGED_OUT_URI, SCOPE, relying_party, sign_in_and_get_tokens
from .test_authorization_code import Flow, hidden_fields, query


@pytest.fixture
def oidc(client: TestClient, user: str, register: Register) -> Flow:
    return relying_party(client, register)


def signed_in(flow: Flow) -> bool:
    """Whether the browser's session still lets the client get a code without a login page."""
    response = flow.open(scope=SCOPE, prompt="none")
    return "code" in query(response.headers["location"])


def confirm(flow: Flow, asking: httpx2.Response) -> httpx2.Response:
    """Answer the confirmation page as the user would: sign out."""
    assert asking.status_code == 200
    assert "Sign out?" in asking.text
    response: httpx2.Response = flow.client.post(
        "/end-session", data=hidden_fields(asking.text), follow_redirects=False
    )
    return response


def test_without_a_hint_the_user_is_asked_and_nothing_ends_until_they_answer(oidc: Flow) -> None:
    oidc.decide(scope=SCOPE, remember=True)

    for asking in (
        oidc.client.get("/end-session", params={"client_id": oidc.client_id}),
        oidc.client.post("/end-session", data={"post_logout_redirect_uri": LOGGED_OUT_URI}, follow_redirects=False),
    ):
        assert asking.status_code == 200
        assert "Sign out?" in asking.text
        assert asking.headers["cache-control"] == "no-store"
        assert signed_in(oidc)


def test_a_confirmation_posted_from_another_site_is_refused(oidc: Flow) -> None:
    oidc.decide(scope=SCOPE, remember=True)
    asking = oidc.client.get("/end-session", params={"client_id": oidc.client_id})
    forged = {**hidden_fields(asking.text), "csrf_token": "forged"}

    response = oidc.client.post("/end-session", data=forged, follow_redirects=False)

    assert response.status_code == 403
    assert signed_in(oidc)


def test_a_hint_for_another_user_still_asks(oidc: Flow, register: Register) -> None:
    tokens = sign_in_and_get_tokens(oidc, remember=True)
    add_user(oidc.client, "bob")
    # Bob signs in on the same browser, and lets the client know him too.
    login = oidc.client.get("/authorize", params=oidc.params(scope=SCOPE, prompt="login"))
    signed_in_as_bob = oidc.client.post(
        "/login", data={**hidden_fields(login.text), "username": "bob", "password": PASSWORD}, follow_redirects=False
    )
    consent = oidc.client.get(signed_in_as_bob.headers["location"])
    approval = {**hidden_fields(consent.text), "decision": "approve", "remember": "yes"}
    assert oidc.client.post("/authorize", data=approval, follow_redirects=False).status_code == 303

    asking = oidc.client.get("/end-session", params={"id_token_hint": tokens["id_token"]}, follow_redirects=False)

    assert asking.status_code == 200
    assert "Sign out?" in asking.text
    assert signed_in(oidc)


def test_a_registered_address_gets_the_browser_back_with_state(oidc: Flow) -> None:
    oidc.decide(scope=SCOPE, remember=True)
    assert signed_in(oidc)

    response = confirm(
        oidc,
        oidc.client.get(
            "/end-session",
            params={"client_id": oidc.client_id, "post_logout_redirect_uri": LOGGED_OUT_URI, "state": "s" * 128},
        ),
    )

    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(LOGGED_OUT_URI + "?")
    assert query(location) == {"state": "s" * 128}
    assert not signed_in(oidc)


def test_the_id_token_hint_names_the_client(oidc: Flow) -> None:
    tokens = sign_in_and_get_tokens(oidc)

    response = oidc.client.post(
        "/end-session",
        data={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": LOGGED_OUT_URI},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == LOGGED_OUT_URI
    assert not signed_in(oidc)


@pytest.mark.parametrize(
    "uri", ["https://evil.example/", LOGGED_OUT_URI + "/", LOGGED_OUT_URI.upper(), LOGGED_OUT_URI + "?x=1"]
)
def test_an_unregistered_address_gets_the_signed_out_page_only(oidc: Flow, uri: str) -> None:
    oidc.decide(scope=SCOPE, remember=True)
    assert signed_in(oidc)

    response = confirm(
        oidc, oidc.client.get("/end-session", params={"client_id": oidc.client_id, "post_logout_redirect_uri": uri})
    )

    assert response.status_code == 200
    assert "location" not in response.headers
    assert "Signed out" in response.text
    assert not signed_in(oidc)


def test_another_clients_address_is_not_this_ones(oidc: Flow, register: Register) -> None:
    other = relying_party(oidc.client, register, post_logout_redirect_uris=["https://other.example/bye"])
    oidc.decide(scope=SCOPE, remember=True)

    response = confirm(
        oidc,
        oidc.client.get(
            "/end-session",
            params={"client_id": oidc.client_id, "post_logout_redirect_uri": "https://other.example/bye"},
        ),
    )

    assert other.client_id != oidc.client_id
    assert response.status_code == 200
    assert "location" not in response.headers


def test_a_hint_for_another_client_is_refused(oidc: Flow, register: Register) -> None:
    tokens = sign_in_and_get_tokens(oidc, remember=True)
    other = relying_party(oidc.client, register)

    response = oidc.client.get(
        "/end-session",
        params={"id_token_hint": tokens["id_token"], "client_id": other.client_id},
        follow_redirects=False,
    )

    assert response.status_code == 400
    assert "location" not in response.headers
    assert signed_in(oidc), "a refused request ends nothing"


def test_without_parameters_the_session_ends_once_confirmed_and_the_page_says_so(oidc: Flow) -> None:
    oidc.decide(scope=SCOPE, remember=True)

    response = confirm(oidc, oidc.client.get("/end-session"))

    assert response.status_code == 200
    assert "Signed out" in response.text
    assert response.headers["cache-control"] == "no-store"
    assert not signed_in(oidc)


def test_hostile_requests_get_no_server_error(oidc: Flow) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    repeated = oidc.client.get(f"/end-session?state=a&state=b&client_id={oidc.client_id}")
    not_utf8 = oidc.client.post("/end-session", content=b"client_id=\xff&post_logout_redirect_uri=\xfe", headers=form)
    query_not_utf8 = oidc.client.get("/end-session?client_id=%FF%FE&post_logout_redirect_uri=%C0")
    oversized_hint = oidc.client.get("/end-session", params={"id_token_hint": "a." * 20_000})
    malformed_hint = oidc.client.get("/end-session", params={"id_token_hint": "eyJ.eyJ.x"})
    long_client = oidc.client.get(
        "/end-session", params={"client_id": "c" * 10_000, "post_logout_redirect_uri": LOGGED_OUT_URI}
    )

    assert repeated.status_code == 400
    assert not_utf8.status_code == 200
    assert query_not_utf8.status_code == 200
    assert oversized_hint.status_code == 400
    assert malformed_hint.status_code == 400
    assert long_client.status_code == 200
    assert "location" not in long_client.headers
    oversized = oidc.client.post("/end-session", content=b"state=" + b"s" * 2_000_000, headers=form)
    assert oversized.status_code == 400  # a field over 1 MiB: the form parser refuses it


def test_concurrent_sign_outs_of_one_session_all_end_it(oidc: Flow) -> None:
    oidc.decide(scope=SCOPE, remember=True)
    asking = oidc.client.get(
        "/end-session", params={"client_id": oidc.client_id, "post_logout_redirect_uri": LOGGED_OUT_URI}
    )

    def sign_out(_: int) -> int:
        response: httpx2.Response = oidc.client.post(
            "/end-session", data=hidden_fields(asking.text), follow_redirects=False
        )
        return response.status_code

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(sign_out, range(8)))

    assert answers == [303] * 8
    assert not signed_in(oidc)
