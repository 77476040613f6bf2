"""Keeps secrets that clients put in query strings out of uvicorn's access log."""

import logging
from urllib.parse import unquote_plus

# Parameters whose values are credentials: RFC 6750 §2.3 forbids the first in a URL and the service
# refuses it there, but a refused request is logged all the same. login_hint is often an e-mail
# address: personal data that a log has no use for.
SECRET_PARAMETERS = frozenset(
    {
        "access_token",
        "refresh_token",
        "token",
        "code",
        "code_verifier",
        "client_secret",
        "password",
        "id_token_hint",
        "login_hint",
    }
)
REDACTED = "[redacted]"
# uvicorn logs `'%s - "%s %s HTTP/%s" %d'` with these arguments: address, method, path?query, version, status.
PATH_ARGUMENT = 2


def redact_query(path: str) -> str:
    """`path` with the values of secret parameters replaced, whatever their spelling or encoding."""
    path_only, separator, query = path.partition("?")
    if not separator:
        return path
    pieces = []
    for piece in query.split("&"):
        name, equals, _value = piece.partition("=")
        secret = unquote_plus(name).strip().lower() in SECRET_PARAMETERS
        pieces.append(f"{name}{equals or '='}{REDACTED}" if secret else piece)
    return f"{path_only}?{'&'.join(pieces)}"


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > PATH_ARGUMENT:
            path = args[PATH_ARGUMENT]
            if isinstance(path, str):
                record.args = (*args[:PATH_ARGUMENT], redact_query(path), *args[PATH_ARGUMENT + 1 :])
        return True


# One instance, so that creating several applications in one process adds the filter once.
REDACT_SECRETS = RedactSecrets()


def keep_secrets_out_of_the_access_log() -> None:
    logging.getLogger("uvicorn.access").addFilter(REDACT_SECRETS)
