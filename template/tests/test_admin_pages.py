"""The admin pages: only a signed-in user who holds `admin` sees them; their forms need the CSRF token of that
sign-in; disabling, enabling and registering a client do what they say, leave their events, and a new
client's secret is shown once."""

import re
import time

import httpx2
import pytest
from fastapi.testclient import TestClient

from .account_page import csrf_token, post, signed_in
from .helpers import ISSUER, USERNAME, Register, add_user, app_state, bearer, create_app, get_token
from .test_audit_trail import events

ADMIN = "root"
ADMIN_URL = f"{ISSUER}/admin"


@pytest.fixture
def admin_browser(client: TestClient, user: str) -> TestClient:
    """The test client as the browser of a signed-in operator (alice is another user)."""
    add_user(client, ADMIN, frozenset({"admin"}))
    signed_in(client, ADMIN)
    return client


def admin_post(client: TestClient, form: str, **fields: str) -> httpx2.Response:
    return post(client, f"/admin/forms/{form}", **fields)


def test_without_a_sign_in_the_page_sends_to_the_account_page(client: TestClient) -> None:
    answer = client.get("/admin")

    assert answer.status_code == 401
    assert f'href="{ISSUER}/account"' in answer.text
    assert answer.headers["cache-control"] == "no-store"


PAGES = [
    ("GET", "/admin"),
    *(("POST", f"/admin/forms/{form}") for form in ("disable-user", "enable-user", "create-client")),
]


def test_a_user_without_admin_is_refused_every_page(client: TestClient, user: str) -> None:
    anonymous = [client.request(method, path, follow_redirects=False).status_code for method, path in PAGES]
    signed_in(client)
    fields = {"username": USERNAME, "name": "App", "grant_type": "client_credentials"}
    refused = [
        client.get(path).status_code if method == "GET" else post(client, path, **fields).status_code
        for method, path in PAGES
    ]

    assert anonymous == [401] * len(PAGES)
    assert refused == [403] * len(PAGES)
    assert get_token(client)
    assert events(client, "client.created") == []


def test_a_sign_in_older_than_the_limit_must_be_made_again(admin_browser: TestClient) -> None:
    settings = app_state(admin_browser.app).settings
    fresh = admin_browser.get("/admin")
    max_age_seconds = settings.admin_sign_in_max_age_minutes * 60

    # The same browser, its sign-in now just over the limit old.
    with TestClient(create_app(settings, clock=lambda: time.time() + max_age_seconds + 5)) as later:
        later.cookies = admin_browser.cookies
        stale = later.get("/admin")
        refused = post(later, "/admin/forms/disable-user", username=USERNAME)

    assert fresh.status_code == 200
    assert stale.status_code == 401
    assert "sign in again" in stale.text
    assert refused.status_code == 401
    assert events(admin_browser, "user.disabled") == []


def test_the_page_lists_and_searches_users_and_clients(admin_browser: TestClient) -> None:
    add_user(admin_browser, "bob")

    page = admin_browser.get("/admin")
    found = admin_browser.get("/admin", params={"q": "BO"})

    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert all(name in page.text for name in (ADMIN, USERNAME, "bob"))
    assert "bob" in found.text
    assert f"<td>{USERNAME}</td>" not in found.text


def test_clients_are_shown_a_page_at_a_time(admin_browser: TestClient, register: Register) -> None:
    made = {register(grant_types=["client_credentials"])[0] for _ in range(51)}

    first = admin_browser.get("/admin").text
    next_page = re.search(r'href="([^"]+\?clients_after=[^"]+)">Next clients', first)
    assert next_page is not None
    second = admin_browser.get(next_page[1].replace("&amp;", "&")).text

    # In the database's order, whichever it is: each client once.
    on_first = {client_id for client_id in made if client_id in first}
    assert len(on_first) == 50
    assert {client_id for client_id in made if client_id in second} == made - on_first


def test_disabling_and_enabling_a_user(admin_browser: TestClient) -> None:
    token = get_token(admin_browser)

    disabled = admin_post(admin_browser, "disable-user", username=USERNAME)

    assert disabled.status_code == 303
    assert disabled.headers["location"] == f"{ADMIN_URL}?done=disabled"
    assert admin_browser.get("/protected", headers=bearer(token)).status_code == 401
    assert "Enable alice" in admin_browser.get(disabled.headers["location"]).text
    enabled = admin_post(admin_browser, "enable-user", username=USERNAME)
    assert enabled.headers["location"] == f"{ADMIN_URL}?done=enabled"
    assert get_token(admin_browser)
    actors = [event.actor for event in events(admin_browser) if event.type in {"user.disabled", "user.enabled"}]
    assert actors == [f"user:{ADMIN}"] * 2


@pytest.mark.parametrize("username", ["nobody", "ALICE", "", "%FF%FE", "a%00b", "x" * 1000])
def test_an_unknown_user_changes_nothing(admin_browser: TestClient, username: str) -> None:
    # Sent as typed: percent escapes of bytes that are no UTF-8, or of a NUL, reach the form parser as they are.
    body = f"csrf_token={csrf_token(admin_browser)}&username={username}".encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    answer = admin_browser.post("/admin/forms/disable-user", content=body, headers=headers, follow_redirects=False)

    assert answer.status_code == 303
    assert answer.headers["location"] == f"{ADMIN_URL}?done=unknown"
    assert get_token(admin_browser)


def test_forms_without_the_csrf_token_of_the_sign_in_are_refused(admin_browser: TestClient) -> None:
    forged = admin_browser.post("/admin/forms/disable-user", data={"username": USERNAME, "csrf_token": "forged"})
    # The right token and another: which one counted would be the parser's choice.
    twice = admin_browser.post(
        "/admin/forms/disable-user",
        data={"username": USERNAME, "csrf_token": ["forged", csrf_token(admin_browser)]},
    )

    assert forged.status_code == 403
    assert twice.status_code == 403
    assert get_token(admin_browser)


def test_a_registered_clients_secret_is_shown_once_and_works(admin_browser: TestClient) -> None:
    answer = admin_post(
        admin_browser, "create-client", name="Nightly job", grant_type="client_credentials", scope="reports:read"
    )

    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    client_id = re.search(r'id="client-id">([^<]+)<', answer.text)
    secret = re.search(r'id="client-secret">([^<]+)<', answer.text)
    assert client_id is not None
    assert secret is not None
    form = {"grant_type": "client_credentials", "client_id": client_id[1], "client_secret": secret[1]}
    token = admin_browser.post("/token", data=form)
    assert token.status_code == 200, token.text
    assert token.json()["scope"] == "reports:read"
    again = admin_browser.get("/admin")
    assert client_id[1] in again.text
    assert secret[1] not in again.text
    [created] = events(admin_browser, "client.created")
    assert created.actor == f"user:{ADMIN}"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"name": "", "grant_type": "client_credentials"}, "at least 1 character"),
        ({"name": "App", "grant_type": "authorization_code"}, "needs at least one redirect URI"),
        ({"name": "App", "grant_type": "authorization_code", "redirect_uris": "javascript:alert(1)"}, "https"),
        ({"name": "App", "grant_type": "client_credentials", "public": "on"}, "public client cannot"),
        ({"name": "<script>alert(1)</script>", "grant_type": "client_credentials", "scope": "nonsense"}, ""),
    ],
)
def test_a_client_that_cannot_be_registered_is_explained(
    admin_browser: TestClient, fields: dict[str, str], reason: str
) -> None:
    answer = admin_post(admin_browser, "create-client", **fields)

    if "<script>" in fields["name"]:
        # An unknown scope is not offered, so not taken; the name is shown as text, never as markup.
        assert answer.status_code == 200
        assert "<script>alert(1)</script>" not in answer.text
        assert "&lt;script&gt;" in answer.text
        return
    assert answer.status_code == 400, answer.text
    assert reason in answer.text
    assert 'id="client-secret"' not in answer.text


def test_hostile_queries_never_fail_the_page(admin_browser: TestClient) -> None:
    hostile = [
        {"q": "\x00"},
        {"q": "%_"},
        {"after": "99999999999999999999999"},
        {"after": "-1"},
        {"q": "x" * 321},
        {"clients_after": "\x00"},
        {"clients_after": "x" * 256},
    ]
    for params in hostile:
        answer = admin_browser.get("/admin", params=params)
        assert answer.status_code in {200, 422}, (params, answer.status_code)


def test_the_account_page_links_an_admin_to_the_admin_page(client: TestClient, user: str) -> None:
    signed_in(client)
    assert f'href="{ADMIN_URL}"' not in client.get("/account").text
    add_user(client, ADMIN, frozenset({"admin"}))
    signed_in(client, ADMIN)
    assert f'href="{ADMIN_URL}"' in client.get("/account").text
