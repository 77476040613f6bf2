"""Second factors in real headless Chromium against a real service: an authenticator app set up from the
account page by reading its secret off the page, sign-ins that ask for its code (never accepting one twice),
a step-up asked for with `acr_values`, recovery codes, and the password grant that cannot ask for a code;
passkeys added on the account page and signing in alone, through Chromium's own WebAuthn with a virtual
authenticator. Codes come from pyotp, ID tokens are checked with PyJWT against the published keys, so neither
trusts the service's own TOTP or JOSE code."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pyotp
import pytest
from playwright.sync_api import Browser, CDPSession, Page, expect

from .support.browser import callback_server
from .support.services import PACKAGE, PASSWORD, password_token, run_module, running_service

# One service for the module: keep its tests on one worker.
pytestmark = pytest.mark.xdist_group("second-factors")

STEP_SECONDS = 30
# Chromium's virtual authenticator as a platform one with a PIN or biometric (CDP WebAuthn domain).
VIRTUAL_AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
}
WRONG_CODE = "not right, or was used already"
PASSWORD_ONLY = {"amr": ["pwd"], "acr": "aal1"}
TWO_FACTORS = {"amr": ["mfa", "otp", "pwd"], "acr": "aal2"}


@dataclass(frozen=True)
class Service:
    project: Path
    base_url: str
    configuration: dict[str, Any]
    client_id: str
    client_secret: str
    redirect_uri: str

    def add_user(self, username: str) -> str:
        created = run_module(self.project, PACKAGE, "create-user", username, "--password", PASSWORD)
        assert created.returncode == 0, created.stderr
        return username


@pytest.fixture(scope="module")
def service(make_project: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The default project (SQLite, MFA optional) running at ISSUER=http://localhost:PORT (a secure context, and
    an RP ID WebAuthn takes), with a confidential OpenID client whose redirect endpoint is a local catcher."""
    project = Path(shutil.copytree(make_project(), tmp_path_factory.mktemp("second-factors") / "service"))
    running = running_service(project, PACKAGE, issuer_host="localhost")
    with callback_server() as (redirect_uri, _), running as base_url:
        options = ["--redirect-uri", redirect_uri, "--scope", "openid", "--grant-type", "authorization_code"]
        registered = run_module(project, PACKAGE, "create-client", "Second Factor RP", *options, "--json")
        assert registered.returncode == 0, registered.stderr
        credentials = json.loads(registered.stdout)
        configuration = httpx.get(f"{base_url}/.well-known/openid-configuration").json()
        assert configuration["issuer"] == base_url
        yield Service(
            project, base_url, configuration, credentials["client_id"], credentials["client_secret"], redirect_uri
        )


@contextmanager
def fresh_browser(browser: Browser) -> Iterator[Page]:
    """A page in a browser context of its own: no cookies, no sign-in."""
    context = browser.new_context()
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@dataclass
class Authenticator:
    """The user's authenticator app, as pyotp computes it; it remembers the last step it gave a code for,
    since the service takes each step once."""

    secret: str
    last_step: int | None = None
    last_code: str = field(default="", repr=False)

    def next_code(self) -> str:
        """The code of the earliest step the service still takes: the previous one (a step of drift is
        accepted) unless it is about to fall out of the window, and always after the last one used. Waits
        only when every step in the window was used already."""
        now = time.time()
        current = int(now // STEP_SECONDS)
        step = current - 1 if STEP_SECONDS - now % STEP_SECONDS > 5 else current
        if self.last_step is not None:
            step = max(step, self.last_step + 1)
        if step > current + 1:
            time.sleep((step - 1) * STEP_SECONDS - now + 0.1)
        self.last_step = step
        self.last_code = pyotp.TOTP(self.secret).generate_otp(step)
        return self.last_code


def sign_in_on_account_page(page: Page, service: Service, username: str) -> None:
    page.goto(f"{service.base_url}/account")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def set_up_authenticator(page: Page, service: Service) -> tuple[Authenticator, list[str]]:
    """From the signed-in account page: the secret read off the page, confirmed with its code; the
    recovery codes shown then."""
    page.goto(f"{service.base_url}/account")
    page.locator("#authenticator-current").fill(PASSWORD)
    page.get_by_role("button", name="Set up an authenticator app").click()
    expect(page.locator("h1")).to_have_text("Set up an authenticator app")
    secret = page.locator("span.secret").inner_text().strip()
    link = page.locator("a.secret").get_attribute("href") or ""
    assert parse_qs(urlsplit(link).query)["secret"] == [secret]
    app = Authenticator(secret)
    page.locator('input[name="code"]').fill(app.next_code())
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("h1")).to_have_text("Your recovery codes")
    return app, page.locator("ol.codes li").all_inner_texts()


@dataclass(frozen=True)
class Authorization:
    verifier: str
    state: str
    nonce: str


def start_authorization(page: Page, service: Service, **extra: str) -> Authorization:
    """Open /authorize for the client: code flow, PKCE with S256, scope openid."""
    request = Authorization(secrets.token_urlsafe(48), secrets.token_urlsafe(16), secrets.token_urlsafe(16))
    challenge = base64.urlsafe_b64encode(hashlib.sha256(request.verifier.encode()).digest()).rstrip(b"=").decode()
    params = {
        "response_type": "code",
        "client_id": service.client_id,
        "redirect_uri": service.redirect_uri,
        "scope": "openid",
        "state": request.state,
        "nonce": request.nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    page.goto(f"{service.configuration['authorization_endpoint']}?{urlencode(params)}")
    return request


def enter_password(page: Page, username: str) -> None:
    expect(page.locator("h1")).to_have_text("Sign in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def enter_code(page: Page, code: str) -> None:
    expect(page.locator("h1")).to_have_text("Enter your code")
    code_field = page.locator('input[name="code"]')
    assert code_field.get_attribute("autocomplete") == "one-time-code"
    code_field.fill(code)
    page.get_by_role("button", name="Continue", exact=True).click()


def allow_and_exchange(page: Page, service: Service, request: Authorization) -> dict[str, Any]:
    """Allow on the consent page, take the code from the redirect, exchange it; the verified ID token's claims."""
    expect(page.locator("h1")).to_have_text("Allow Second Factor RP to access your account?")
    page.get_by_role("button", name="Allow", exact=True).click()
    page.wait_for_url(lambda address: address.startswith(service.redirect_uri + "?"))
    callback = parse_qs(urlsplit(page.url).query)
    assert callback["state"] == [request.state]
    assert callback["iss"] == [service.base_url]
    token = httpx.post(
        service.configuration["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": callback["code"][0],
            "redirect_uri": service.redirect_uri,
            "code_verifier": request.verifier,
        },
        auth=(service.client_id, service.client_secret),
    )
    assert token.status_code == 200, token.text
    claims = verified_id_token(service, token.json()["id_token"])
    assert claims["nonce"] == request.nonce
    return claims


def verified_id_token(service: Service, id_token: str) -> dict[str, Any]:
    """PyJWT's view of the ID token: RS256, a key from jwks_uri, `iss` and `aud` pinned."""
    keys = jwt.PyJWKSet.from_dict(httpx.get(service.configuration["jwks_uri"]).json())
    header = jwt.get_unverified_header(id_token)
    assert header["alg"] == "RS256"
    claims: dict[str, Any] = jwt.decode(
        id_token,
        keys[header["kid"]].key,
        algorithms=["RS256"],
        audience=service.client_id,
        issuer=service.base_url,
        options={"require": ["iss", "aud", "sub", "exp", "iat"]},
    )
    return claims


def how_signed_in(claims: dict[str, Any]) -> dict[str, Any]:
    return {"amr": sorted(claims["amr"]), "acr": claims["acr"]}


def test_a_user_sets_up_an_authenticator_app_from_the_account_page(
    service: Service, browser: Browser, page: Page
) -> None:
    username = service.add_user("ada")
    sign_in_on_account_page(page, service, username)
    expect(page.locator("main")).to_contain_text("Protect your account with a code from an authenticator app")
    page.locator("#authenticator-current").fill(PASSWORD)
    page.get_by_role("button", name="Set up an authenticator app").click()
    expect(page.locator("h1")).to_have_text("Set up an authenticator app")
    secret = page.locator("span.secret").inner_text().strip()
    assert len(secret) == 32 and set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    link = urlsplit(page.locator("a.secret").get_attribute("href") or "")
    assert (link.scheme, link.netloc) == ("otpauth", "totp")
    assert parse_qs(link.query)["secret"] == [secret]
    expect(page.locator(".qr svg")).to_have_count(1)

    # A wrong code turns nothing on.
    page.locator('input[name="code"]').fill(pyotp.TOTP(pyotp.random_base32()).now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator('[role="alert"]')).to_contain_text("not right")
    assert page.locator("span.secret").inner_text().strip() == secret

    page.locator('input[name="code"]').fill(Authenticator(secret).next_code())
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("h1")).to_have_text("Your recovery codes")
    codes = page.locator("ol.codes li").all_inner_texts()
    assert len(codes) == 10
    assert len(set(codes)) == 10
    page.get_by_role("link", name="Continue").click()
    expect(page.locator("main")).to_contain_text("Signing in asks for a code from your authenticator app")
    expect(page.locator("main")).to_contain_text("You have 10 unused recovery codes")

    # From now on the account page itself asks for the code after the password.
    with fresh_browser(browser) as other:
        sign_in_on_account_page(other, service, username)
        expect(other.locator("h1")).to_have_text("Enter your code")


def test_the_code_flow_asks_for_a_code_and_never_takes_one_twice(
    service: Service, browser: Browser, page: Page
) -> None:
    username = service.add_user("bea")
    sign_in_on_account_page(page, service, username)
    app, _ = set_up_authenticator(page, service)

    with fresh_browser(browser) as first:
        request = start_authorization(first, service)
        enter_password(first, username)
        enter_code(first, app.next_code())
        claims = allow_and_exchange(first, service, request)
    assert how_signed_in(claims) == TWO_FACTORS
    assert claims["aud"] == service.client_id
    assert claims["iss"] == service.base_url

    # The same code in a fresh sign-in is refused; the next one is taken.
    used = app.last_code
    with fresh_browser(browser) as second:
        request = start_authorization(second, service)
        enter_password(second, username)
        enter_code(second, used)
        expect(second.locator("h1")).to_have_text("Enter your code")
        expect(second.locator('[role="alert"]')).to_contain_text(WRONG_CODE)
        enter_code(second, app.next_code())
        assert how_signed_in(allow_and_exchange(second, service, request)) == TWO_FACTORS


def test_acr_values_aal2_steps_a_password_only_sign_in_up(service: Service, page: Page) -> None:
    username = service.add_user("cleo")
    # Signed in with the password alone, before the app is set up: the sign-in stays at one factor.
    sign_in_on_account_page(page, service, username)
    app, _ = set_up_authenticator(page, service)

    request = start_authorization(page, service)
    assert how_signed_in(allow_and_exchange(page, service, request)) == PASSWORD_ONLY

    request = start_authorization(page, service, acr_values="aal2")
    enter_code(page, app.next_code())
    assert how_signed_in(allow_and_exchange(page, service, request)) == TWO_FACTORS

    # The browser's sign-in now has two factors, asked for or not.
    request = start_authorization(page, service)
    assert how_signed_in(allow_and_exchange(page, service, request)) == TWO_FACTORS


def test_a_recovery_code_signs_in_once(service: Service, browser: Browser, page: Page) -> None:
    username = service.add_user("dora")
    sign_in_on_account_page(page, service, username)
    _, codes = set_up_authenticator(page, service)
    recovery = codes[3]

    with fresh_browser(browser) as first:
        request = start_authorization(first, service)
        enter_password(first, username)
        enter_code(first, recovery)
        assert how_signed_in(allow_and_exchange(first, service, request)) == TWO_FACTORS
        first.goto(f"{service.base_url}/account")
        expect(first.locator("main")).to_contain_text("You have 9 unused recovery codes")

    with fresh_browser(browser) as second:
        start_authorization(second, service)
        enter_password(second, username)
        enter_code(second, recovery)
        expect(second.locator("h1")).to_have_text("Enter your code")
        expect(second.locator('[role="alert"]')).to_contain_text(WRONG_CODE)
        assert not second.url.startswith(service.redirect_uri)


def test_the_password_grant_refuses_a_user_with_a_second_factor(service: Service, page: Page) -> None:
    username = service.add_user("edna")
    before = password_token(service.base_url, username)
    assert before.status_code == 200, before.text
    assert before.json()["access_token"]

    sign_in_on_account_page(page, service, username)
    set_up_authenticator(page, service)
    refused = password_token(service.base_url, username)
    assert refused.status_code == 400, refused.text
    body = refused.json()
    assert body["error"] == "invalid_grant"
    assert "second factor" in body["error_description"]
    assert "access_token" not in body
    assert "refresh_token" not in body


def virtual_authenticator(page: Page) -> tuple[CDPSession, str]:
    """A virtual authenticator for PAGE (it lives as long as the page, across navigations)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": VIRTUAL_AUTHENTICATOR})
    return cdp, added["authenticatorId"]


def test_a_passkey_added_on_the_account_page_signs_in_alone_through_the_code_flow(
    service: Service, browser: Browser
) -> None:
    assert urlsplit(service.base_url).hostname == "localhost"
    username = service.add_user("fay")
    with fresh_browser(browser) as page:
        policy_violations: list[str] = []
        page.on(
            "console",
            lambda message: policy_violations.extend(
                [message.text] if "Content Security Policy" in message.text else []
            ),
        )
        cdp, authenticator_id = virtual_authenticator(page)
        sign_in_on_account_page(page, service, username)
        expect(page.locator("h2", has_text="Passkeys")).to_be_visible()
        page.get_by_label("Name of the new passkey").fill("Chromium's key")
        page.locator("#passkey-current").fill(PASSWORD)
        page.get_by_role("button", name="Add a passkey").click()
        expect(page.locator(".notice")).to_have_text("Your passkey is added.")
        expect(page.locator(".passkeys")).to_contain_text("Chromium's key")
        [credential] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]
        assert credential["isResidentCredential"]
        assert credential["rpId"] == "localhost"

        # Signed out, the client's code flow: no username, no password.
        page.context.clear_cookies()
        request = start_authorization(page, service)
        expect(page.locator("h1")).to_have_text("Sign in")
        page.get_by_role("button", name="Sign in with a passkey").click()
        claims = allow_and_exchange(page, service, request)

        assert how_signed_in(claims) == {"amr": ["hwk", "mfa", "user"], "acr": "aal2"}
        [used] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]
        assert used["signCount"] > credential["signCount"]
        assert policy_violations == []


def test_a_passkey_is_the_second_factor_after_the_password(service: Service, browser: Browser) -> None:
    username = service.add_user("gus")
    with fresh_browser(browser) as page:
        virtual_authenticator(page)
        sign_in_on_account_page(page, service, username)
        page.locator("#passkey-current").fill(PASSWORD)
        page.get_by_role("button", name="Add a passkey").click()
        expect(page.locator(".notice")).to_have_text("Your passkey is added.")
        page.context.clear_cookies()

        request = start_authorization(page, service)
        enter_password(page, username)
        expect(page.locator("h1")).to_have_text("Use your passkey")
        page.get_by_role("button", name="Use a passkey").click()
        claims = allow_and_exchange(page, service, request)

        assert how_signed_in(claims) == {"amr": ["hwk", "mfa", "pwd"], "acr": "aal2"}
