"""Markdown to safe HTML for advisory text written by people (and imported from outside).

markdown-it-py parses CommonMark with raw HTML disabled; nh3 (ammonia) then keeps
only an allow-list of tags and attributes, so neither a script nor a javascript: URL
survives, whatever the input.
"""

from __future__ import annotations

import functools

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li",
    "a", "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}


@functools.cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


# The public index renders every current advisory's text on each publication; the
# same texts, so the HTML of recent ones is kept (a pure function of the text).
@functools.lru_cache(maxsize=1024)
def render(text: str) -> str:
    """Sanitised HTML for ``text``; safe to mark safe in a template."""
    html = _parser().render(text or "")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
