"""A browser on the account page, for the tests of the page and of connected apps."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
from fastapi.testclient import TestClient

from .helpers import ISSUER, PASSWORD, USERNAME
from .openid_flow import SCOPE
from .test_authorization_code import Flow, hidden_fields, query

ACCOUNT_URL = f"{ISSUER}/account"
FORMS = re.compile(r'<form method="post" action="([^"]+)">(.*?)</form>', re.S)
VERIFY_LINK = re.compile(re.escape(ISSUER) + r"/verify-email\?token=[\w-]+")


def csrf_token(client: TestClient) -> str:
    """The CSRF token of the account page's forms, for the browser as it is now."""
    page = client.get("/account")
    assert page.status_code == 200, page.text
    return hidden_fields(page.text)["csrf_token"]


def sign_in(client: TestClient, username: str = USERNAME, password: str = PASSWORD) -> httpx2.Response:
    fields = {"csrf_token": csrf_token(client), "username": username, "password": password}
    response: httpx2.Response = client.post("/account/sign-in", data=fields, follow_redirects=False)
    return response


def signed_in(client: TestClient, username: str = USERNAME) -> None:
    answer = sign_in(client, username)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"{ACCOUNT_URL}?done=signed-in"


def post(client: TestClient, path: str, **fields: str) -> httpx2.Response:
    """Post a form of the account page, with the browser's CSRF token."""
    response: httpx2.Response = client.post(
        path, data={"csrf_token": csrf_token(client), **fields}, follow_redirects=False
    )
    return response


def shows_account(client: TestClient) -> bool:
    """Whether the browser is signed in to the account page (rather than shown its sign-in form)."""
    page = client.get("/account")
    assert page.status_code == 200
    return "Connected apps" in page.text


class Browser:
    """A browser's cookies, put on the shared test client when it acts."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.cookies = httpx2.Cookies()

    @contextmanager
    def acting(self) -> Iterator[TestClient]:
        own = httpx2.Cookies(self.client.cookies)
        self.client.cookies = self.cookies
        try:
            yield self.client
        finally:
            self.cookies = httpx2.Cookies(self.client.cookies)
            self.client.cookies = own


def approve(flow: Flow, username: str = USERNAME, remember: bool = False, **changes: str | None) -> str:
    """Sign in as USERNAME where needed and approve: the code."""
    answer = flow.client.get("/authorize", params=flow.params(scope=SCOPE, **changes), follow_redirects=False)
    if answer.status_code == 200 and 'name="password"' in answer.text:
        fields = {**hidden_fields(answer.text), "username": username, "password": PASSWORD}
        signed_in_now = flow.client.post("/login", data=fields, follow_redirects=False)
        assert signed_in_now.status_code == 303, signed_in_now.text
        answer = flow.client.get(signed_in_now.headers["location"], follow_redirects=False)
    if answer.status_code == 200:
        fields = {**hidden_fields(answer.text), "decision": "approve"} | ({"remember": "yes"} if remember else {})
        answer = flow.client.post("/authorize", data=fields, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return query(answer.headers["location"])["code"]


def tokens_of(flow: Flow, username: str = USERNAME, remember: bool = False) -> dict[str, Any]:
    answer = flow.exchange(approve(flow, username, remember))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def refresh(flow: Flow, refresh_token: str) -> httpx2.Response:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": flow.client_id}
    response: httpx2.Response = flow.client.post("/token", data=form)
    return response
