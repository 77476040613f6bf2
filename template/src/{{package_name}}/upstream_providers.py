"""The upstream providers the operator configured (UPSTREAM_PROVIDERS or UPSTREAM_PROVIDERS_FILE),
read and checked once at start: what is wrong is said in one line that names the provider."""

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

# A provider's name is part of its callback's path and of the stored identities: a short slug.
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
KINDS = ("oidc", "github")
MAX_PROVIDERS = 20
MAX_DISPLAY_NAME = 64
MAX_SCOPES = 20
SCOPE_PATTERN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,128}$")  # RFC 6749 §3.3
# Hosts on which plain http stays on this machine: a provider there may be a test's, or a proxy's.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
KNOWN_FIELDS = frozenset(
    {
        "name",
        "kind",
        "display_name",
        "client_id",
        "client_secret",
        "client_secret_file",
        "issuer",
        "authorize_url",
        "token_url",
        "api_url",
        "scopes",
        "create_users",
        "auto_link_verified_email",
        "trust_upstream_mfa",
    }
)
DEFAULT_SCOPES: dict[str, tuple[str, ...]] = {
    "oidc": ("openid", "email", "profile"),
    "github": ("read:user", "user:email"),
}


class ProviderConfigError(ValueError):
    """What is wrong with the configured providers, in one line."""


@dataclass(frozen=True, slots=True)
class UpstreamProvider:
    name: str
    kind: Literal["oidc", "github"]
    display_name: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    # `oidc`: the issuer, whose metadata (RFC 8414 / OpenID Connect Discovery) names everything else.
    issuer: str | None = None
    # `github`: the three endpoints (GitHub's own, or a GitHub Enterprise server's).
    authorize_url: str | None = None
    token_url: str | None = None
    api_url: str | None = None
    # None: follow ALLOW_REGISTRATION.
    create_users: bool | None = None
    auto_link_verified_email: bool = False
    trust_upstream_mfa: bool = False
    # Whether URLs on this machine may be plain http (development only), the discovered ones too.
    allows_loopback: bool = False

    @property
    def identity_issuer(self) -> str:
        """Who vouches for the subjects of this provider: the OpenID issuer, or the API a GitHub-style
        provider's user ids come from."""
        issuer = self.issuer if self.kind == "oidc" else self.api_url
        assert issuer is not None  # read_providers requires it of its kind
        return issuer

    def __repr__(self) -> str:
        # Never the secret, wherever a provider is printed.
        return f"UpstreamProvider(name={self.name!r}, kind={self.kind!r})"


def read_providers(text: str | None, file: Path | None, *, production: bool) -> tuple[UpstreamProvider, ...]:
    """The providers of UPSTREAM_PROVIDERS (TEXT) or UPSTREAM_PROVIDERS_FILE; none when neither is set."""
    if text and file is not None:
        raise ProviderConfigError("set UPSTREAM_PROVIDERS or UPSTREAM_PROVIDERS_FILE, not both")
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ProviderConfigError(f"UPSTREAM_PROVIDERS_FILE cannot be read: {type(exc).__name__}") from None
    if not text or not text.strip():
        return ()
    try:
        entries = json.loads(text)
    except ValueError as exc:
        # The position only: the text holds client secrets.
        raise ProviderConfigError(f"UPSTREAM_PROVIDERS is not JSON (line {_line_of(exc)})") from None
    if not isinstance(entries, list):
        raise ProviderConfigError("UPSTREAM_PROVIDERS must be a JSON list of providers")
    if len(entries) > MAX_PROVIDERS:
        raise ProviderConfigError(f"UPSTREAM_PROVIDERS names more than {MAX_PROVIDERS} providers")
    providers = tuple(_provider(entry, index, production=production) for index, entry in enumerate(entries))
    names = [provider.name for provider in providers]
    for name in names:
        if names.count(name) > 1:
            raise ProviderConfigError(f"upstream provider {name!r} is configured twice")
    return providers


def _provider(entry: Any, index: int, *, production: bool) -> UpstreamProvider:
    if not isinstance(entry, dict):
        raise ProviderConfigError(f"UPSTREAM_PROVIDERS[{index}] must be a JSON object")
    name = entry.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ProviderConfigError(
            f"UPSTREAM_PROVIDERS[{index}]: name must be a slug of lowercase letters, digits and '-' (at most 32)"
        )
    where = f"upstream provider {name!r}"
    unknown = sorted(set(entry) - KNOWN_FIELDS)
    if unknown:
        raise ProviderConfigError(f"{where}: unknown field {_shown(unknown[0])}")
    kind = entry.get("kind")
    if kind not in KINDS:
        raise ProviderConfigError(f"{where}: kind must be one of {', '.join(KINDS)}")
    display_name = entry.get("display_name", name)
    if not isinstance(display_name, str) or not 0 < len(display_name.strip()) <= MAX_DISPLAY_NAME:
        raise ProviderConfigError(f"{where}: display_name must be text of 1 to {MAX_DISPLAY_NAME} characters")
    client_id = entry.get("client_id")
    if not isinstance(client_id, str) or not 0 < len(client_id) <= 255 or not client_id.isprintable():
        raise ProviderConfigError(f"{where}: client_id is required")
    urls = {field: _url(entry, field, where, production=production) for field in _url_fields(kind)}
    return UpstreamProvider(
        name=name,
        kind=kind,
        display_name=display_name.strip(),
        client_id=client_id,
        client_secret=_client_secret(entry, where),
        scopes=_scopes(entry, kind, where),
        create_users=_flag(entry, "create_users", where, None),
        auto_link_verified_email=bool(_flag(entry, "auto_link_verified_email", where, False)),
        trust_upstream_mfa=bool(_flag(entry, "trust_upstream_mfa", where, False)),
        allows_loopback=not production,
        **urls,
    )


def _url_fields(kind: str) -> tuple[str, ...]:
    return ("issuer",) if kind == "oidc" else ("authorize_url", "token_url", "api_url")


def _url(entry: dict[str, Any], field: str, where: str, *, production: bool) -> str:
    value = entry.get(field)
    if not isinstance(value, str) or not value:
        raise ProviderConfigError(f"{where}: {field} is required")
    # The issuer (a GitHub-style provider's API) is stored with each identity, in 255 characters.
    limit = 255 if field in ("issuer", "api_url") else 2048
    if len(value) > limit or not value.isprintable():
        raise ProviderConfigError(f"{where}: {field} must be a URL of at most {limit} characters")
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 (a port that is not a number, or above 65535, raises here)
    except ValueError:
        raise ProviderConfigError(f"{where}: {field} has a port that is not one") from None
    loopback = parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
    # An http provider anywhere but this machine would hand codes and ID tokens to anyone on the way.
    if not (parts.scheme == "https" or (loopback and not production)) or not parts.hostname:
        raise ProviderConfigError(f"{where}: {field} must be an https URL")
    if parts.fragment or "@" in parts.netloc or (field == "issuer" and parts.query):
        raise ProviderConfigError(f"{where}: {field} must have no fragment, user part or query")
    return value


def _client_secret(entry: dict[str, Any], where: str) -> str:
    secret, file = entry.get("client_secret"), entry.get("client_secret_file")
    if secret is not None and file is not None:
        raise ProviderConfigError(f"{where}: give client_secret or client_secret_file, not both")
    if file is not None:
        if not isinstance(file, str):
            raise ProviderConfigError(f"{where}: client_secret_file must be a path")
        try:
            secret = Path(file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ProviderConfigError(f"{where}: client_secret_file cannot be read: {type(exc).__name__}") from None
    if not isinstance(secret, str) or not secret or len(secret) > 1024:
        raise ProviderConfigError(f"{where}: client_secret or client_secret_file is required")
    return secret


def _scopes(entry: dict[str, Any], kind: str, where: str) -> tuple[str, ...]:
    scopes = entry.get("scopes")
    if scopes is None:
        return DEFAULT_SCOPES[kind]
    if (
        not isinstance(scopes, list)
        or not 0 < len(scopes) <= MAX_SCOPES
        or not all(isinstance(scope, str) and SCOPE_PATTERN.match(scope) for scope in scopes)
    ):
        raise ProviderConfigError(f"{where}: scopes must be a list of OAuth2 scope names")
    if kind == "oidc" and "openid" not in scopes:
        raise ProviderConfigError(f"{where}: scopes must include openid")
    return tuple(dict.fromkeys(scopes))


def _flag(entry: dict[str, Any], field: str, where: str, default: bool | None) -> bool | None:
    value = entry.get(field, default)
    if value is not default and not isinstance(value, bool):
        raise ProviderConfigError(f"{where}: {field} must be true or false")
    return value


def _shown(field: str) -> str:
    return repr(field[:40]) if field.isprintable() else "(not printable)"


def _line_of(exc: ValueError) -> int:
    return getattr(exc, "lineno", 1)
