"""The one place that decides what text Herald takes in: advisories (desk form, API,
CLI, importers), report intake, products, the vendor profile, incidents.

Refused, with an error naming the field and the character:

- control characters: C0 except tab, newline and carriage return; DEL; C1. They
  mean nothing on a page, XML 1.0 cannot carry most of them (a feed with U+0007 is
  not a feed), and ESC sequences repaint the terminal of whoever reads a CLI's output;
- bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069):
  they make text display in an order other than the one it is stored in (the
  "Trojan Source" trick). Right-to-left scripts do not need them; they are refused,
  not shown, so that what a reader sees is what Herald stored. The implicit marks
  U+200E and U+200F, which cannot reorder anything, are kept;
- lone surrogates and the noncharacters U+FDD0-U+FDEF, U+FFFE and U+FFFF, which
  no UTF-8 file or XML document may hold.

Where nobody can be asked to fix the text (a reporter's e-mail), ``visible`` puts
a visible stand-in in place of each refused character instead (U+2400's control
pictures, or U+FFFD), so that text copied from there passes the gatekeeper later.
Links in Markdown text may only point to http(s) and mailto addresses, or be
relative (to the site that shows them).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from herald.core.errors import ValidationError

Kind = Literal["line", "text", "markdown"]

_REFUSED = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]"
)
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
LINK_SCHEMES = ("http", "https", "mailto")


def _describe(char: str) -> str:
    code = ord(char)
    name = unicodedata.name(char, "")
    label = f"U+{code:04X}" + (f" ({name})" if name else "")
    if _BIDI.match(char):
        return f"{label}, a bidirectional control that reorders the text around it"
    if 0xD800 <= code <= 0xDFFF:
        return f"{label}, half of a character (a lone surrogate)"
    if code >= 0xFDD0:
        return f"{label}, a noncharacter"
    return f"{label}, a control character"


def refused_character(text: str) -> tuple[int, str] | None:
    """The first character the gatekeeper refuses, with its index, or None."""
    match = _REFUSED.search(text)
    return (match.start(), match.group()) if match else None


def check_text(value: object, field: str, *, kind: Kind = "line") -> str:
    """``value`` as Herald stores it, or ``ValidationError({field: ...})``.

    ``line`` (titles, names, summaries): one line, runs of white space made one
    space. ``text`` and ``markdown``: newlines are ``\\n``; ``markdown`` also refuses
    links other than http(s) and mailto.
    """
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    found = refused_character(text)
    if found is not None:
        index, char = found
        raise ValidationError(
            {
                field: f"Contains {_describe(char)} at character {index + 1}; "
                "remove it (it would be invisible or misleading to readers)."
            }
        )
    if kind == "line":
        return " ".join(text.split())
    # Blank lines around a text mean nothing, and no page can keep them.
    text = text.strip("\n")
    if kind == "markdown":
        check_links(text, field)
    return text


def check_links(text: str, field: str) -> None:
    """Refuse Markdown links and images that point anywhere but http(s) or mailto."""
    from herald.core.markdown import link_targets

    if "[" not in text and "<" not in text:
        return  # no link can start without one of them
    for target in link_targets(text):
        # A colon before any "/", "?" or "#" ends a scheme (browsers drop the tabs
        # and newlines an entity may have put in it); without one the link is
        # relative, to the page's own site, and stays so.
        head = re.split(r"[/?#]", target, maxsplit=1)[0]
        if ":" in head and head.split(":", 1)[0].lower() not in LINK_SCHEMES:
            raise ValidationError(
                {
                    field: f"Links may only point to http(s) or mailto addresses, or be relative; "
                    f"{target[:80]!r} does not."
                }
            )


# RFC 3986's reserved and unreserved characters, and "%" of an escape already made:
# the characters a URI may hold as they are.
_URI_KEEP = "!$&'()*+,;=:@/?~-._%"
_LONE_PERCENT = re.compile("%(?![0-9A-Fa-f]{2})")


def uri(url: str) -> str:
    """``url`` as a URI: what a URI may not hold (spaces, ``<``, ``"``, non-ASCII...)
    percent-encoded in its path, query and fragment, as a browser sends it.

    A valid URI comes back unchanged, so applying it twice changes nothing; the
    validators consumers run (the ``uri`` format of the OSV and CVE schemas) accept
    what comes out.
    """
    from urllib.parse import quote, urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return url  # an unparseable host ("http://[x"): the caller's check refuses it

    def encode(part: str) -> str:
        return quote(_LONE_PERCENT.sub("%25", part), safe=_URI_KEEP)

    return urlunsplit(
        (parts.scheme, parts.netloc, encode(parts.path), encode(parts.query),
         encode(parts.fragment))
    )  # fmt: skip


def visible(value: str) -> str:
    """``value`` with each refused character replaced by a visible stand-in."""

    def stand_in(match: re.Match[str]) -> str:
        code = ord(match.group())
        if code < 0x20:
            return chr(0x2400 + code)
        if code == 0x7F:
            return "\u2421"
        return "\ufffd"

    return _REFUSED.sub(stand_in, value)


def named(value: str) -> str:
    """``value`` with each refused character written out as its code point, ``⟦U+202E⟧``:
    for showing a reporter's text to the team as it was sent (a proof of concept of a
    bidirectional-text attack must be read in stored order, not displayed reordered)."""
    return _REFUSED.sub(lambda m: f"\u27e6U+{ord(m.group()):04X}\u27e7", value)
