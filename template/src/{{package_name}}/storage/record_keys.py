"""Keys of the token store: a kind, then a SHA-256 digest of the secret or address it is about.

The store never holds a code, a token or a session id in clear, and every key has one size
whatever a client sends.
"""

import hashlib


def store_key(kind: str, *parts: str) -> str:
    # Parts joined by NUL, which none of them can hold; lone surrogates (from a form field that was
    # not UTF-8) digest too rather than fail.
    digest = hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{kind}:{digest}"
