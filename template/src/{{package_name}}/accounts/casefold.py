"""Text compared without regard to case: one form for every spelling Unicode considers the same."""

import unicodedata


def folded(text: str) -> str:
    """NFKC, then case-folded: `Alice`, `ALICE` and their compatibility forms (fullwidth letters, ligatures) fold alike."""
    return unicodedata.normalize("NFKC", text).casefold()
