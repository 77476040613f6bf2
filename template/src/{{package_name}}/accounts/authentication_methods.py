"""How a sign-in was made: its authentication methods (`amr`, RFC 8176) and the level they reach
(`acr`, OpenID Connect Core §2), as ID tokens carry them."""

from collections.abc import Iterable

PASSWORD = "pwd"
ONE_TIME_CODE = "otp"
HARDWARE_KEY = "hwk"
SOFTWARE_KEY = "swk"
# The user verified to the authenticator (a PIN or a fingerprint), as a passkey sign-in needs.
USER_VERIFIED = "user"
MULTI_FACTOR = "mfa"
# Through another provider (README, Sign in with another provider).
FEDERATED = "fed"

# The levels of NIST SP 800-63B: one factor, or two (a password and a code, or a verified passkey).
SINGLE_FACTOR_LEVEL = "aal1"
MULTI_FACTOR_LEVEL = "aal2"
LEVELS = (SINGLE_FACTOR_LEVEL, MULTI_FACTOR_LEVEL)


def level_of(methods: Iterable[str]) -> str:
    return MULTI_FACTOR_LEVEL if MULTI_FACTOR in methods else SINGLE_FACTOR_LEVEL


def with_second_factor(first: Iterable[str], *second: str) -> tuple[str, ...]:
    """The methods of a sign-in that added SECOND to FIRST: two factors, so `mfa` too."""
    methods = list(dict.fromkeys([*first, *second]))
    return tuple(sorted({*methods, MULTI_FACTOR}))


def with_verified_passkey(key: str) -> tuple[str, ...]:
    """The methods of a sign-in by a passkey (KEY: `hwk` or `swk`) whose authenticator verified the
    user: something the user has and something they know or are, so two factors."""
    return tuple(sorted({key, USER_VERIFIED, MULTI_FACTOR}))


def wants_multi_factor(acr_values: str | None) -> bool:
    """Whether a client's `acr_values` (Core §3.1.2.1) asks for two factors."""
    return acr_values is not None and MULTI_FACTOR_LEVEL in acr_values.split()
