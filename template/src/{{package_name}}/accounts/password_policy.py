"""What a new password must be (OWASP ASVS 5.0 §6.2): long enough, not the username, not a common one.

No composition rules and no truncation: any text of 8 to 1,024 characters that UTF-8 can encode,
except the account's own name and the passwords in `common_passwords.txt` (the most frequent ones
in public breaches; see `common_passwords.LICENSE.txt`), compared without regard to case.
"""

from functools import cache
from importlib.resources import files

from .casefold import folded
from .passwords import is_acceptable

MIN_PASSWORD_LENGTH = 8
COMMON_PASSWORDS = "common_passwords.txt"


def problem(password: str, username: str) -> str | None:
    """Why `password`, of an allowed length, cannot be `username`'s new password; None when it can."""
    if not is_acceptable(password):
        return "a password must be text that UTF-8 can encode"
    folded_password = folded(password)
    if folded_password == folded(username):
        return "the password must not be the username"
    if folded_password in common_passwords():
        return "this password is one of the most common ones; choose another"
    return None


@cache
def common_passwords() -> frozenset[str]:
    """Read once, at the first password set, not at start-up."""
    text = files(__package__).joinpath(COMMON_PASSWORDS).read_text(encoding="utf-8")
    return frozenset(folded(line) for line in text.splitlines() if line)
