"""First-pass screening of review and reply text. Pure: no Django.

It only decides whether a person must look before the text goes public; it never rejects by
itself. It looks for:

- profanity and slurs, from a short list (whole words; common letter swaps such as ``@`` for
  ``a`` and ``0`` for ``o`` are undone first; words inside other words, like "Scunthorpe", do not
  count);
- personal data: e-mail addresses, phone numbers (7 or more digits, with the usual separators),
  UK postcodes and web links. A review naming the client's condition is fine; one that lets a
  stranger contact or find somebody is not.
"""

from __future__ import annotations

import re

# Kept short and obvious on purpose: the queue, not the list, is the real safeguard.
PROFANITY = frozenset(
    {
        "arse", "arsehole", "asshole", "bastard", "bitch", "bollocks", "bullshit", "crap", "cunt", "dick", "dickhead",
        "fuck", "fucked", "fucker", "fucking", "motherfucker", "piss", "pissed", "prick", "shit", "shitty", "slut",
        "twat", "wanker", "whore", "retard", "retarded", "fag", "faggot", "nigger", "spastic", "tranny",
    }
)  # fmt: skip
_SWAPS = str.maketrans({"@": "a", "4": "a", "3": "e", "1": "i", "!": "i", "0": "o", "$": "s", "5": "s", "7": "t", "*": "u"})
_WORD = re.compile(r"[a-z@4310!$57*]+")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
EMAIL_SPELLED = re.compile(r"\b[\w.+-]+\s*(\(at\)|\[at\]| at )\s*[\w-]+\s*(\(dot\)|\[dot\]| dot )\s*\w+", re.IGNORECASE)
PHONE = re.compile(r"(?<![\w])(\+?\d[\d\s().-]{5,}\d)(?![\w])")
POSTCODE_UK = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)
DATE = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}")
URL = re.compile(r"\b(https?://|www\.)\S+", re.IGNORECASE)


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def screen(text: str) -> list[str]:
    """Codes for what the text seems to contain: ``profanity``, ``email``, ``phone``, ``postcode``, ``link``."""
    flags: list[str] = []
    lowered = text.lower()
    if any(word.translate(_SWAPS) in PROFANITY for word in _WORD.findall(lowered)):
        flags.append("profanity")
    if EMAIL.search(text) or EMAIL_SPELLED.search(text):
        flags.append("email")
    if any(_digits(m.group(1)) >= 7 and not DATE.fullmatch(m.group(1).strip()) for m in PHONE.finditer(text)):
        flags.append("phone")
    if POSTCODE_UK.search(text):
        flags.append("postcode")
    if URL.search(text):
        flags.append("link")
    return flags


FLAG_LABELS = {
    "profanity": "strong language",
    "email": "an e-mail address",
    "phone": "a phone number",
    "postcode": "a postcode",
    "link": "a web link",
}


def describe(flags: list[str]) -> str:
    return ", ".join(FLAG_LABELS.get(f, f) for f in flags)
