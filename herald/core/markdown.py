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


@functools.cache
def _link_parser() -> MarkdownIt:
    # Every destination becomes a link here, whatever its scheme: the point is to see
    # what a renderer less careful than markdown-it would link to.
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
    parser.validateLink = lambda url: True  # type: ignore[method-assign]
    return parser


def link_targets(text: str) -> list[str]:
    """Every destination a CommonMark renderer links to in ``text``: links, images,
    autolinks and reference definitions (used or not: a page joins many texts)."""
    env: dict[str, object] = {}
    tokens = _link_parser().parse(text or "", env)
    targets: list[str] = []
    pending = list(tokens)
    while pending:
        token = pending.pop(0)
        if token.type == "link_open":
            targets.append(str(token.attrGet("href") or ""))
        elif token.type == "image":
            targets.append(str(token.attrGet("src") or ""))
        pending[:0] = token.children or []
    references = env.get("references")
    if isinstance(references, dict):
        targets += [str(ref.get("href", "")) for ref in references.values()]
    return targets
