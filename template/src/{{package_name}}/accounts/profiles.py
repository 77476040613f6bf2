"""Users' OpenID Connect standard claims (Core §5.1): what may be set, and what each scope shares."""

import time
import unicodedata
from typing import Any

from pydantic import BaseModel, Field, field_validator

from ..storage.models import User

# Core §5.4: the claims each scope asks for. `openid` alone gives `sub` only.
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": ("name", "given_name", "family_name", "preferred_username", "updated_at"),
    "email": ("email", "email_verified"),
}
# Scopes about the user alone: granted whenever the user consents, whatever other scopes the account
# may grant (`create-user --scope`), since they give a client nothing but the user's own details.
IDENTITY_SCOPES = frozenset({"openid", *SCOPE_CLAIMS})
ID_TOKEN_CLAIMS = ("sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "acr", "amr")
CLAIMS_SUPPORTED = (*ID_TOKEN_CLAIMS, *sorted({claim for claims in SCOPE_CLAIMS.values() for claim in claims}))
EMAIL_PATTERN = r'^[^@\s<>()\[\],;:\\"]+@[^@\s<>()\[\],;:\\"]+$'
# What the consent page says each claim is.
CLAIM_LABELS = {
    "name": "full name",
    "given_name": "given name",
    "family_name": "family name",
    "preferred_username": "username",
    "updated_at": "when your profile last changed",
    "email": "e-mail address",
    "email_verified": "whether it is verified",
}


class Profile(BaseModel):
    """Claims to set; a field left None keeps its value."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    given_name: str | None = Field(default=None, min_length=1, max_length=150)
    family_name: str | None = Field(default=None, min_length=1, max_length=150)
    # Checked loosely on purpose, as only the mail server can tell whether an address works; but one
    # plain address, with none of the characters that would make a mail header name other or more
    # recipients (`a,b@c`, `x<y@z>`, `g:v@x;`).
    email: str | None = Field(default=None, max_length=320, pattern=EMAIL_PATTERN)
    email_verified: bool | None = None

    @field_validator("name", "given_name", "family_name", "email")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        # Shown to clients and on pages, and stored: no control characters (PostgreSQL refuses a NUL) and no
        # lone surrogates (no UTF-8 encodes one). Format characters stay: some scripts' names need a joiner.
        if value is not None and any(unicodedata.category(character) in {"Cc", "Cs"} for character in value):
            raise ValueError("it contains control characters")
        return value

    def columns(self) -> dict[str, Any]:
        changed = self.model_dump(exclude_none=True)
        return {**changed, "updated_at": int(time.time())} if changed else {}


def claims_for(user: User, scopes: frozenset[str]) -> dict[str, Any]:
    """`sub` and the claims of the granted scopes that the user has values for."""
    values: dict[str, Any] = {
        "name": user.name,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "preferred_username": user.username,
        "updated_at": user.updated_at,
        "email": user.email,
        # False rather than absent while the address is not verified: a client must not take silence for yes.
        "email_verified": None if user.email is None else bool(user.email_verified),
    }
    claims: dict[str, Any] = {"sub": user.subject}
    for scope in sorted(scopes & SCOPE_CLAIMS.keys()):
        claims.update({claim: values[claim] for claim in SCOPE_CLAIMS[scope] if values[claim] is not None})
    return claims


def shared_claims(scope: str) -> list[str]:
    """What the consent page lists under a scope."""
    return [CLAIM_LABELS[claim] for claim in SCOPE_CLAIMS.get(scope, ())]
