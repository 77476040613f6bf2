"""Random secrets for the settings that take one: `generate-secret` prints them, and the service makes
its development secrets with them."""

import secrets

# 512 bits, as 86 base64url characters: more than any HMAC key needs (RFC 7518 §3.2).
SECRET_BYTES = 64


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)
