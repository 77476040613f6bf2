"""Redirect URIs: which a client may register (RFC 9700 §4.1) and which a request may name (RFC 8252 §7.3)."""

from collections.abc import Iterable
from urllib.parse import SplitResult, urlsplit, urlunsplit

from ..config import LOOPBACK_HOSTS

MAX_LENGTH = 2000


def problem(uri: str) -> str | None:
    """Why `uri` cannot be a redirect URI, or None when it can."""
    if len(uri) > MAX_LENGTH:
        return f"is longer than {MAX_LENGTH} characters"
    if any(character.isspace() or not character.isprintable() for character in uri):
        return "contains whitespace or control characters"
    parts = _split(uri)
    if parts is None or not parts.scheme:
        return "is not an absolute URL"
    if parts.scheme not in {"https", "http"}:
        return "must be https (or loopback http)"
    if not parts.hostname:
        return "is not an absolute URL"
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        return "must be https (or loopback http)"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials"
    if "#" in uri:
        return "must be without # (a fragment)"
    return None


def shown_host(netloc: str) -> str:
    """NETLOC as a page shows it to a user: an international host name in its xn-- form, as a browser
    shows one that mixes scripts, so that a look-alike (app.example with a Cyrillic a, U+0430) shows as the
    other name it is."""
    if netloc.isascii():
        return netloc
    try:
        return netloc.encode("idna").decode("ascii")
    except UnicodeError:
        return netloc.encode("ascii", "backslashreplace").decode("ascii")


def usable(registered: Iterable[str]) -> list[str]:
    """The registered URIs that are valid today (clients registered before a rule was added keep the rest)."""
    return [uri for uri in registered if problem(uri) is None]


def is_registered(requested: str, allowed: list[str]) -> bool:
    """Whether the request may name `requested`: one of the `allowed` URIs (those `usable` returned),
    compared as strings, except that a loopback URI may name any port, which a native app learns only
    when it starts."""
    if requested in allowed:
        return True
    parts = _split(requested)
    if parts is None or parts.scheme != "http" or problem(requested) is not None:
        return False
    # The registered URI with the requested port in it must be the requested URI, to the letter.
    return any(
        urlunsplit(other._replace(netloc=_netloc(other.hostname, parts.port))) == requested
        for other in map(_split, allowed)
        if other is not None and other.scheme == "http" and other.hostname in LOOPBACK_HOSTS
    )


def _split(uri: str) -> SplitResult | None:
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 (a port that is not a number in range raises here)
    except ValueError:
        return None
    return parts


def _netloc(host: str | None, port: int | None) -> str:
    literal = f"[{host}]" if host and ":" in host else host or ""
    return literal if port is None else f"{literal}:{port}"
