"""Close names for a mistyped one: ``credit_g`` -> "did you mean credit-g?"."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str], n: int = 3) -> str:
    """`` (did you mean credit-g?)`` for close choices, else ``""``. Compares case-insensitively
    with ``_`` and ``-`` alike, so ``credit_g`` finds ``credit-g``."""
    by_key: dict[str, str] = {}
    for choice in choices:
        by_key.setdefault(_key(choice), choice)
    close = difflib.get_close_matches(_key(word), list(by_key), n=n, cutoff=0.6)
    return f" (did you mean {' or '.join(by_key[c] for c in close)}?)" if close else ""


def _key(text: str) -> str:
    return text.casefold().replace("_", "-")
