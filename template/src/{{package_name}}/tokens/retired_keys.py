"""When a key that no longer signs stops verifying: its retirement record, and the checks made with it
on every verification, so that a key drops out at its time without a restart.

A rotation retires the signing key at RETIRED_AT: it signs nothing afterwards, so it vouches only for
tokens issued (`iat`) at or before then, and for none from NOT_AFTER on, once the last of those has
expired. The record reads `RETIRED_AT..NOT_AFTER` (Unix seconds); records written before RETIRED_AT was
kept hold NOT_AFTER alone, and their rotation took place one token lifetime and the leeway earlier.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from ..config import MAX_TOKEN_SECONDS

SEPARATOR = ".."


@dataclass(frozen=True, slots=True)
class Retirement:
    retired_at: int
    not_after: int

    def __str__(self) -> str:
        return f"{self.retired_at}{SEPARATOR}{self.not_after}"

    def in_force(self, now: float) -> bool:
        return now < self.not_after

    def vouches_for(self, issued_at: object) -> bool:
        """Whether a token with this `iat` may have been signed before the key was retired."""
        if isinstance(issued_at, bool) or not isinstance(issued_at, int | float):
            return False
        return issued_at <= self.retired_at


def retire(now: float, last_token_seconds: int) -> Retirement:
    """Retired now; verifying until the last token it signed (living LAST_TOKEN_SECONDS) has expired."""
    return Retirement(int(now), int(now) + last_token_seconds)


def parse_retirement(text: str, last_token_seconds: int) -> Retirement | None:
    """`RETIRED_AT..NOT_AFTER`, or an older record's `NOT_AFTER`; None when it is neither."""
    retired_at, separator, not_after = text.partition(SEPARATOR)
    if not separator:
        return None if not _seconds(text) else Retirement(int(text) - last_token_seconds, int(text))
    if not (_seconds(retired_at) and _seconds(not_after)):
        return None
    return Retirement(int(retired_at), int(not_after))


def in_force(retirements: Mapping[str, Retirement], kid: str, now: float) -> bool:
    """Whether the key named KID verifies at NOW: a key never retired always does."""
    retirement = retirements.get(kid)
    return retirement is None or retirement.in_force(now)


def vouches_for(retirements: Mapping[str, Retirement], kid: str, issued_at: object) -> bool:
    retirement = retirements.get(kid)
    return retirement is None or retirement.vouches_for(issued_at)


def too_late(retirement: Retirement, now: float) -> bool:
    """A NOT_AFTER beyond the longest life any token of this service may have: the record was not made
    by a rotation. (Bounded by that maximum rather than by today's settings, so that shortening a
    lifetime soon after a rotation, or a clock a little ahead on the rotating host, stops no instance.)"""
    return retirement.not_after > now + MAX_TOKEN_SECONDS


def _seconds(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 12
