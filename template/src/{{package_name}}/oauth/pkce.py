"""Proof Key for Code Exchange (RFC 7636), S256 only."""

import base64
import hashlib
import hmac
import re

METHOD = "S256"
# RFC 7636 §4.1: 43 to 128 unreserved characters.
VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")
# Matched whole (fullmatch): `$` would also accept a trailing newline.
CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")


def challenge_of(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def verifier_matches(verifier: str, challenge: str) -> bool:
    return bool(VERIFIER.fullmatch(verifier)) and hmac.compare_digest(challenge_of(verifier), challenge)
