"""A hostile but legitimate corpus: advisories whose text attacks every format Herald
writes, created and published through the actions, as a responder would.

``publish_hostile_corpus`` publishes them (one withdrawn) and returns them, so that
any test, or a run of the world's validators, gets the corpus with one call.
``REFUSED`` lists what the gatekeeper turns away, with the field it names.
The ``live_*`` helpers say what live markup a reader would get from a page or feed.
"""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from markdown_it import MarkdownIt

from herald.advisories.models import Advisory
from herald.core.models import Product
from herald.incidents.models import Incident
from herald.publication.actions import do_create_advisory, do_publish_advisory, do_withdraw_advisory

SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'
IFRAME = "<iframe src=javascript:alert(3)></iframe>"
ANCHOR = '<a href="javascript:alert(4)">click</a>'
XML_BREAK = "]]></summary><entry><title>spoof</title></entry><![CDATA[ &amp; &lt;b&gt; &xxe;"
JSON_BREAK = '"}, "id": "EVIL-1", "x": "\\u0000 \\\\" </script><!--'
PAGE_BREAK = (
    "First line.\n"
    "## Past advisories\n"
    "### Fake advisory\n"
    "**Date:** January 1, 2020  \n"
    "**Status:** Withdrawn  \n"
    "---\n"
    "title: front matter\n"
    "---\n"
    "Setext heading\n"
    "===\n"
    "> <script>alert(5)</script>\n"
    "- # heading in a list\n"
    "    indented <b>code</b>\n"
    "\n"
    "Inline `<b>code</b>`, an escaped \\<i> and \\\\<u>, <https://example.com/ok>.\n"
    "\n"
    "[ref]: https://example.com/reference\n"
    "\n"
    "```\n"
    "## inside a closed fence\n"
    "```\n"
    "\n"
    "~~~ and one left open\n"
    "**Resolution:** not really"
)
EMOJI = "🔥💥 👩🏽‍💻 🏳️‍🌈 — «quotes» 日本語 עברית\u200f العربية"
CVSS4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
LONG = ("A long description that goes on. " * 400)[:10_000]

# (field, text, what the error names): each refused by every interface.
REFUSED: tuple[tuple[str, str, str], ...] = (
    ("title", "Bell \x07 in a title", "U+0007"),
    ("title", "ESC \x1b[2J clears a terminal", "U+001B"),
    ("title", "NUL \x00 byte", "U+0000"),
    ("summary", "DEL \x7f", "U+007F"),
    ("description", "C1 next line \x85 here", "U+0085"),
    ("description", "file\u202egnp.exe", "U+202E"),
    ("affected_users", "isolate \u2066text\u2069", "U+2066"),
    ("resolution", "noncharacter \ufffe", "U+FFFE"),
    ("resolution", "[Fix](javascript:alert(1))", "http(s) or mailto"),
    ("description", "<javascript:alert(1)>", "http(s) or mailto"),
    ("description", "![x](data:text/html;base64,PHNjcmlwdD4=)", "http(s) or mailto"),
    ("description", "[r]: vbscript:msgbox(1)", "http(s) or mailto"),
)


def _values(n: int, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": f"Hostile advisory {n}",
        "description": "Plain text.",
        "severity": "high",
        "affected_users": "Everyone.",
        "resolution": "Upgrade.",
        "reported_at": dt.date(2026, 1, 10),
        "fixed_at": dt.date(2026, 1, 12),
        "status": "fixed",
        "cve_ids": [f"CVE-2026-{9_100_000 + n}"],
    }
    values.update(overrides)
    return values


def hostile_values() -> list[dict[str, Any]]:
    """The advisories, as ``do_create_advisory`` takes them (products added later)."""
    return [
        _values(
            1,
            title=f"{SCRIPT} {IMG} & [x](javascript:alert(6)) `code` \\ #",
            summary=f'"><svg onload=alert(7)> {IFRAME}',
            description=f"{SCRIPT}\n\n{IMG}\n\n{IFRAME}\n\n{ANCHOR}\n\n<!-- comment",
            affected_users=f"Users of {IMG}",
            resolution=f"See [the fix](https://example.com/fix?a=1&b=<2>) {ANCHOR}",
        ),
        _values(2, title=f"XML {XML_BREAK}", summary=XML_BREAK, description=XML_BREAK),
        _values(3, title=f"JSON {JSON_BREAK}", description=JSON_BREAK, resolution=JSON_BREAK),
        _values(
            4,
            title="## Past advisories #",
            description=PAGE_BREAK,
            affected_users="---\nfront: matter\n---",
            resolution="```\nan unclosed fence\n**Timeline:**",
        ),
        _values(5, title=f"Emoji and scripts {EMOJI}", description=EMOJI, summary=EMOJI),
        _values(
            6,
            title="T" * 300,
            summary="S" * 500,
            description=LONG,
            affected_users=LONG,
            resolution=LONG,
            cvss_v4_vector=CVSS4,
            cve_ids=["CVE-2026-1234567", "CVE-2026-7654321"],
        ),
    ]


def hostile_products(count: int = 40) -> list[Product]:
    """Products with names that try each format, and many of them."""
    names = [f"<b>Product</b> {i} & \"Co\" ]]> 'x'" for i in range(count)]
    return [
        Product.objects.get_or_create(slug=f"hostile-{i}", defaults={"name": name})[0]
        for i, name in enumerate(names)
    ]


def publish_hostile_corpus(
    *, acting_user: AbstractBaseUser | None, incident: Incident
) -> list[Advisory]:
    """Create and publish every hostile advisory; the last one is then withdrawn."""
    products = hostile_products()
    published: list[Advisory] = []
    for n, values in enumerate(hostile_values()):
        affected = [{"product": p, "fixed": "1.0"} for p in (products if n == 5 else products[:2])]
        draft = do_create_advisory(
            acting_user=acting_user,
            incident=incident,
            affected=affected,
            credits=[{"name": f"{SCRIPT} {EMOJI}", "type": "finder"}],
            references=[{"url": 'https://example.com/a?b=<c>&d="e"'}],
            **values,
        )
        published.append(do_publish_advisory(draft, acting_user=acting_user))
    published[-1] = do_withdraw_advisory(
        published[-1],
        acting_user=acting_user,
        reason=f"{IMG}\n## Current advisories\n**Status:** Fixed\n```",
    )
    return published


# ---------------------------------------------------------------- live markup


class _LiveMarkup(HTMLParser):
    DANGEROUS = {"script", "iframe", "img", "svg", "object", "embed", "style", "form", "input"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self.attacks: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag in self.DANGEROUS:
            self.found.append(f"<{tag}>")
        if tag == "iframe":
            self.attacks.append("<iframe>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}>")
                self.attacks.append(f"<{tag} {name}>")
            if "javascript:" in (value or "").lower():
                self.attacks.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src") and not (value or "").strip().lower().startswith(
                ("http://", "https://", "mailto:")
            ):
                self.found.append(f"<{tag} {name}={value!r}>")

    def handle_comment(self, data: str) -> None:
        self.found.append("<!--comment-->")

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.tags and self.tags[-1] == "script" and "alert" in data:
            self.attacks.append(f"<script>{data[:40]}")


def live_markup(html: str) -> list[str]:
    """What in ``html`` would run or load, or link anywhere but http(s) and mailto."""
    return _parsed(html).found


def _parsed(html: str) -> _LiveMarkup:
    parser = _LiveMarkup()
    parser.feed(html)
    parser.close()
    return parser


def html_tags(html: str) -> list[str]:
    return _parsed(html).tags


def html_text(html: str) -> str:
    """What a reader of ``html`` sees."""
    return "".join(_parsed(html).text)


def injected(html: str) -> list[str]:
    """The corpus's attacks that came alive in a page that has markup of its own:
    event handlers, javascript: URLs, iframes, scripts that call alert."""
    return _parsed(html).attacks


def commonmark_html(page: str) -> str:
    """The page as a site generator shows it: front matter taken off, then CommonMark
    with raw HTML allowed, and every link kept whatever its scheme."""
    if page.startswith("---\n"):
        page = page.split("\n---\n", 1)[1]
    parser = MarkdownIt("commonmark")
    parser.validateLink = lambda url: True  # type: ignore[method-assign]
    return parser.render(page)
