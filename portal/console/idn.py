"""Internationalized domains in the console: the punycode beside a domain that mixes scripts.

`example.com` spelled with a Cyrillic "a" (U+0430) looks the same but is another domain.
Wherever the console shows an address, the `address` filter adds the domain's
A-label (`xn--…`) when a label of it mixes scripts, which no honest domain needs:
a label wholly in one script (`пример`, or Latin with accents such as `exämple`)
shows no warning. Han may go with Hiragana, Katakana, Bopomofo or Hangul and
Latin, as Japanese, Chinese and Korean names do (Unicode TS #39, "highly
restrictive").
"""

from __future__ import annotations

import unicodedata

import idna
from markupsafe import Markup, escape

# Scripts that legitimately share one label (each set with Latin and Han).
_CJK_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)


def _script(char: str) -> str | None:
    """The script of a letter, from its Unicode name; None for digits, hyphens and marks."""
    if not char.isalpha():
        return None
    word = unicodedata.name(char, "UNKNOWN").split(" ", 1)[0]
    if word == "CJK":
        return "HAN"
    if word == "KATAKANA-HIRAGANA":
        return "KATAKANA"
    return word


def label_mixes_scripts(label: str) -> bool:
    """Whether one domain label holds letters of more than one script (CJK mixes aside)."""
    scripts = {script for script in map(_script, label) if script is not None}
    if len(scripts) <= 1:
        return False
    return not any(scripts <= allowed for allowed in _CJK_MIXES)


def _unicode_label(label: str) -> str:
    if label.lower().startswith("xn--"):
        try:
            return idna.decode(label)
        except idna.IDNAError:
            return label
    return label


def a_label_domain(domain: str) -> str:
    """The ASCII (punycode) form of `domain`; as close as can be for one IDNA 2008 refuses."""
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        labels = []
        for label in domain.split("."):
            try:
                labels.append(label.encode("idna").decode("ascii"))
            except UnicodeError:
                labels.append("xn--" + label.encode("punycode").decode("ascii"))
        return ".".join(labels)


def mixed_script_domain(address: str) -> str | None:
    """The A-label of `address`'s domain when a label of it mixes scripts, else None."""
    domain = address.rpartition("@")[2]
    if not domain or (domain.isascii() and "xn--" not in domain.lower()):
        return None
    if not any(label_mixes_scripts(_unicode_label(label)) for label in domain.split(".")):
        return None
    return a_label_domain(domain)


def address_markup(address: object) -> Markup:
    """The `address` Jinja filter: the address, plus its punycode domain if it mixes scripts."""
    text = "" if address is None else str(address)
    punycode = mixed_script_domain(text)
    if punycode is None:
        return escape(text)
    return Markup(
        '{} <span class="idn-warning">(domain mixes scripts: <code>{}</code>)</span>'
    ).format(text, punycode)
