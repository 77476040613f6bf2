"""The tests' browsers: headless Chromium driven by Playwright, a client's redirect endpoint, and the
HTML forms a browser fills in, for tests that speak plain HTTP.

conftest.py registers this module as a plugin, so every test may ask for the `browser` and `page`
fixtures; Playwright is imported only when one does.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Locally, a developer without Chromium may skip the browser tests on purpose; CI never does.
SKIP_BROWSER = os.environ.get("OAUTHGEN_SKIP_BROWSER_TESTS") == "1" and not os.environ.get("CI")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium, or set OAUTHGEN_SKIP_BROWSER_TESTS=1 locally"
        if SKIP_BROWSER:
            pytest.skip(message)
        pytest.fail(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@contextmanager
def callback_server() -> Iterator[tuple[str, list[str]]]:
    """A client's redirect endpoint on a loopback port: it records each callback's query string."""
    queries: list[str] = []

    class Callback(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            if path == "/callback":
                queries.append(query)
            body = b"done"
            self.send_response(200 if path == "/callback" else 404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Callback)) as server:
        yield f"http://127.0.0.1:{server.server_port}/callback", queries


@contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[ThreadingHTTPServer]:
    """SERVER answering in a thread of its own, until the block ends."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _Forms(HTMLParser):
    """Every form of a page: its action and its hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.forms.append((attributes.get("action") or "", {}))
        elif tag == "input" and attributes.get("type") == "hidden" and self.forms:
            self.forms[-1][1][attributes["name"] or ""] = attributes.get("value") or ""


def hidden_fields(page: httpx.Response, action_path: str) -> tuple[str, dict[str, str]]:
    """The action and hidden fields of the page's form that posts to `action_path`."""
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    parser = _Forms()
    parser.feed(page.text)
    forms = [(action, fields) for action, fields in parser.forms if urlsplit(action).path == action_path]
    assert len(forms) == 1, f"no single form posting to {action_path}:\n{page.text}"
    return forms[0]
