"""Actor ids: one canonical form to store, one key to compare (separation of duties).

An actor id is accepted when it is storable text (no NUL, no lone surrogate), holds no
control, format (zero-width, bidi), private-use, unassigned or line-separator character,
does not start or end with whitespace, separates words with single spaces only, is 1 to
:data:`MAX_ACTOR_ID` characters long once normalised, and does not mix letters of several
scripts (Latin with Cyrillic or Greek, say). Latin may be mixed with Han and the Japanese,
Chinese or Korean scripts, as Unicode's "highly restrictive" profile (UTS #39) allows.

:func:`canonical_actor_id` returns the NFKC form, case kept: that is what an event records.
:func:`actor_key` is what separation of duties compares: NFKC, case folded, digits of
every script as ASCII digits, and the Cyrillic and Greek letters that look like Latin ones
as those Latin letters. It accepts any text, so ids recorded before these rules (with a
trailing space or a zero-width character) still meet the person they belong to.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import NoReturn

from engine.instance.hashing import storable_text

__all__ = ["MAX_ACTOR_ID", "actor_key", "canonical_actor_id", "is_canonical_actor_id", "same_actor"]

MAX_ACTOR_ID = 200
"""The longest actor id, in characters of its canonical (NFKC) form."""

_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_CATEGORY_NAMES = {
    "Cc": "a control character",
    "Cf": "an invisible format character",
    "Cs": "a surrogate",
    "Co": "a private-use character",
    "Cn": "an unassigned code point",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}
# Scripts that may be mixed (UTS #39 "highly restrictive"): Latin with Han and Japanese,
# Chinese or Korean. Any other mixture of letters' scripts is refused.
_MIXABLE = (
    frozenset({"LATIN", "CJK", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "CJK", "BOPOMOFO"}),
    frozenset({"LATIN", "CJK", "HANGUL"}),
)
_SCRIPT_ALIASES = {"IDEOGRAPHIC": "CJK", "KATAKANA-HIRAGANA": "KATAKANA"}
# Case-folded Cyrillic and Greek letters that look like (upper- or lower-case) Latin ones.
_LOOKALIKES = str.maketrans(
    "асорхуекнтмвѕіјһԁԛԝӏαβεηικμνορτυχζ",
    "acopxyekhtmbsijhdqwlabehikmnoptyxz",
)


def canonical_actor_id(text: str) -> str:
    """The canonical (NFKC, case kept) form of the actor id ``text``.

    Raises ``ValueError`` saying what is wrong (without echoing the id) when ``text`` is
    not an acceptable actor id.
    """
    if not isinstance(text, str):
        msg = f"an actor id must be a string, not {type(text).__name__}"
        raise ValueError(msg)
    return _canonical(text)


def is_canonical_actor_id(text: object) -> bool:
    """Whether ``text`` is an acceptable actor id already in canonical form (never raises)."""
    if not isinstance(text, str):
        return False
    try:
        return _canonical(text) == text
    except ValueError:
        return False


@lru_cache(maxsize=4096)
def _canonical(text: str) -> str:
    if len(text) > 4 * MAX_ACTOR_ID:  # refuse before normalising a huge string
        _refuse(f"is longer than {MAX_ACTOR_ID} characters")
    if not storable_text(text):
        _refuse("must be valid Unicode text without NUL characters")
    _check_characters(text)
    nfkc = unicodedata.normalize("NFKC", text)
    _check_characters(nfkc)
    if not nfkc.strip():
        _refuse("must not be empty or whitespace only")
    if nfkc != nfkc.strip():
        _refuse("must not start or end with whitespace")
    if "  " in nfkc or any(c.isspace() and c != " " for c in nfkc):
        _refuse("may separate words with single spaces only")
    if len(nfkc) > MAX_ACTOR_ID:
        _refuse(f"is longer than {MAX_ACTOR_ID} characters")
    scripts = _scripts(nfkc)
    if len(scripts) > 1 and not any(scripts <= group for group in _MIXABLE):
        _refuse(f"mixes letters of several scripts ({', '.join(sorted(scripts)).lower()})")
    return nfkc


def _refuse(problem: str) -> NoReturn:
    msg = f"an actor id {problem}"
    raise ValueError(msg)


def _check_characters(text: str) -> None:
    for position, char in enumerate(text):
        category = unicodedata.category(char)
        if category in _REFUSED_CATEGORIES:
            what = _CATEGORY_NAMES[category]
            _refuse(f"must not contain {what} (U+{ord(char):04X} at position {position})")


def _scripts(text: str) -> frozenset[str]:
    """The scripts of the letters of ``text`` (digits, marks and punctuation have none)."""
    found: set[str] = set()
    for char in text:
        if unicodedata.category(char).startswith("L"):
            word = unicodedata.name(char, "UNKNOWN").split(" ", 1)[0]
            found.add(_SCRIPT_ALIASES.get(word, word))
    return frozenset(found)


@lru_cache(maxsize=8192)
def actor_key(text: str) -> str:
    """The key separation of duties compares: equal keys are the same person.

    Total (never raises): NFKC, invisible and control characters dropped, whitespace
    collapsed, case folded, decimal digits as ASCII, Cyrillic and Greek look-alikes of
    Latin letters as those letters.
    """
    nfkc = unicodedata.normalize("NFKC", text)
    visible = "".join(
        c for c in nfkc if c.isspace() or unicodedata.category(c) not in _REFUSED_CATEGORIES
    )
    folded = unicodedata.normalize("NFKC", " ".join(visible.split()).casefold())
    digits = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in folded)
    return digits.translate(_LOOKALIKES)


def same_actor(a: str, b: str) -> bool:
    """Whether the actor ids ``a`` and ``b`` name the same person (:func:`actor_key`)."""
    return actor_key(a) == actor_key(b)
