"""Advisory text made safe for the handbook page, and read back from it.

The page is read by people through a CommonMark renderer (most site generators
allow raw HTML) and by ``herald import markdown``. Advisory text is written by
responders, copied from anonymous reports and imported from other people's
documents, so on the page it may not open raw HTML, a heading, a code block that
runs into the rest of the page, or one of the template's bold labels.

- A title is plain text: ``escape_title`` backslash-escapes what CommonMark would
  read as markup (``<``, ``[``, backticks, entities, a closing ``#`` run, and the
  backslashes in front of punctuation), and ``unescape_title`` is CommonMark's own
  reading of backslashes, so every title comes back as it was.
- Descriptions, affected users, resolutions and reasons for withdrawal are
  Markdown, kept as written except where they would reach beyond their field:
  ``escape_markdown`` puts a backslash before each ``<`` outside code (http(s)
  and mailto autolinks aside), each heading's ``#`` or underline, each
  code fence left open, and each line that starts like a template label.
  ``unescape_markdown`` removes exactly those backslashes again when doing so
  gives back the same page, and otherwise keeps the text as the page states it
  (which renders the same).

Links other than http(s) and mailto never get here: the text gatekeeper
(``herald.core.text``) refuses them when the text comes in.

``escape_markdown`` is idempotent, so a page exported, imported and exported again
is the same bytes. Pure functions, text in, text out.
"""

from __future__ import annotations

import functools
import re

from markdown_it import MarkdownIt

LABELS = (
    "Date",
    "CVE",
    "Severity",
    "Status",
    "Reason for withdrawal",
    "Description",
    "Affected users",
    "Resolution",
    "Timeline",
)
FIELD_RE = re.compile(r"^\*\*(?P<label>[^*]+?):\*\*(?P<rest>.*)$")
FENCE_RE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})")
_PUNCT = re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_AUTOLINK = re.compile(
    r"<(?:(?:https?|mailto):[^<>\x00-\x20]*"
    r"|[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*)>",
    re.IGNORECASE,
)
# A cheap look for anything escape_markdown might change; most text has none.
_MAYBE = re.compile(r"<|^[ \t>]*(?:#|=|-|`|~|\*\*|[+*]|\d)", re.MULTILINE)
# The page puts each field right after its label's line, in the same paragraph.
_CONTEXT = "**Label:**  \n"
_MAX_PASSES = 50
_FENCE_LINE = re.compile(r"^([ >]*)((?<!\\)(?:`{3,}|~{3,}))", re.MULTILINE)


@functools.cache
def _parser() -> MarkdownIt:
    # Raw HTML off: every "<" outside code is escaped anyway, and with it off the
    # block structure is the same before and after escaping.
    return MarkdownIt("commonmark", {"html": False})


# ---------------------------------------------------------------- titles


def escape_title(title: str) -> str:
    """The title as a ``###`` heading's text that a renderer shows as written."""
    out = re.sub(rf"\\(?=[{_PUNCT}])", r"\\\\", title)
    out = re.sub(r"([<\[`])", r"\\\1", out)
    out = re.sub(r"&(?=#?[A-Za-z0-9]+;)", r"\\&", out)
    # A run of "#" at the end, after a space, would close the heading and vanish.
    return re.sub(r"(^|\s)(#+)$", r"\1\\\2", out)


def unescape_title(text: str) -> str:
    """CommonMark's reading of backslashes: one before punctuation escapes it."""
    return re.sub(rf"\\([{_PUNCT}])", r"\1", text)


# ---------------------------------------------------------------- Markdown fields


def _closes(fence: str, line: str) -> bool:
    stripped = line.lstrip(" >")
    run = len(stripped) - len(stripped.lstrip(fence[0]))
    return run >= len(fence) and not stripped[run:].strip()


def _code_spans(line: str) -> list[tuple[int, int]]:
    """Code spans that open and close on ``line``, as (start, end) columns."""
    runs: list[tuple[int, int]] = []
    for match in re.finditer(r"`+", line):
        start = match.start()
        before = line[:start]
        if (len(before) - len(before.rstrip("\\"))) % 2:
            start += 1  # an escaped backtick is text; the rest of the run is not
        runs.append((start, match.end()))
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(runs):
        start, end = runs[i]
        length = end - start
        closer = next(
            (j for j in range(i + 1, len(runs)) if runs[j][1] - runs[j][0] == length), None
        )
        if length == 0 or closer is None:
            i += 1
            continue
        spans.append((start, runs[closer][1]))
        i = closer + 1
    return spans


def _inert(text: str) -> bool:
    """Whether a renderer that allows raw HTML finds none in ``text``."""
    tokens = _html_parser().parse(_CONTEXT + text)
    pending = list(tokens)
    while pending:
        token = pending.pop()
        if token.type in ("html_block", "html_inline"):
            return False
        pending += token.children or []
    return True


@functools.cache
def _html_parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True})


def _pass(text: str, *, spans: bool) -> str:
    """One round of escapes over the text's current structure."""
    lines = text.split("\n")
    offset = _CONTEXT.count("\n")
    code: set[int] = set()
    inserts: dict[int, set[int]] = {}  # line -> columns to put a backslash before

    def insert(line: int, column: int) -> None:
        inserts.setdefault(line, set()).add(column)

    def first(line: int, chars: str) -> None:
        column = next((i for i, c in enumerate(lines[line]) if c in chars), None)
        if column is not None:
            insert(line, column)

    for token in _parser().parse(_CONTEXT + text):
        if token.map is None:
            continue
        start, end = token.map[0] - offset, token.map[1] - offset
        if token.type == "fence":
            closed = end - 1 > start and _closes(token.markup, lines[end - 1])
            if closed:
                code.update(range(start, end))
            else:
                # Left open, it would swallow the rest of the page.
                first(start, token.markup[0])
        elif token.type == "code_block":
            code.update(range(start, end))
        elif token.type == "heading_open":
            if token.markup.startswith("#"):
                first(start, "#")
            elif end >= 1:  # a setext underline; the text above may be the label's
                first(end - 1, token.markup[0])
    for number, line in enumerate(lines):
        if number in code:
            continue
        if FENCE_RE.match(line):
            # The importer would take it for a fence where CommonMark does not.
            first(number, "`~")
        label = FIELD_RE.match(line)
        if label and label["label"].strip() in LABELS:
            insert(number, 0)
            insert(number, 1)
        in_code = _code_spans(line) if spans else []
        for match in re.finditer(r"(\\*)<", line):
            column = match.end() - 1
            if any(start < column < end for start, end in in_code):
                continue
            if len(match[1]) % 2 == 0 and not _AUTOLINK.match(line, column):
                insert(number, column)
    for number, columns in inserts.items():
        line = lines[number]
        for column in sorted(columns, reverse=True):
            line = line[:column] + "\\" + line[column:]
        lines[number] = line
    return "\n".join(lines)


def escape_markdown(text: str) -> str:
    """``text`` with everything that would reach beyond its field made literal."""
    if not _MAYBE.search(text):
        return text
    # "<" inside a code span is already text, and a backslash there would show; but
    # a span found line by line can be wrong (a link's destination may hold a
    # backtick), so the result is checked, and every "<" escaped if it is not inert.
    escaped = _settle(text, spans=True)
    return escaped if _inert(escaped) else _settle(text, spans=False)


def _settle(text: str, *, spans: bool) -> str:
    original = text
    for _ in range(_MAX_PASSES):
        escaped = _pass(text, spans=spans)
        if escaped == text:
            return text
        text = escaped
    # Disarming one fence can turn the lines after it into new fences, each needing
    # a pass; a text built to chain them gets no code blocks at all instead.
    text = _FENCE_LINE.sub(r"\1\\\2", original)
    # Each pass now adds a backslash per line at most once for each of its kinds.
    for _ in range(4 * text.count("\n") + 8):
        escaped = _pass(text, spans=spans)
        if escaped == text:
            return text
        text = escaped
    raise AssertionError("escapes settle once no line opens a code block")


_CANDIDATES = re.compile(
    r"(?<!\\)((?:\\\\)*)\\(<)"  # "<" after an odd run of backslashes
    r"|^((?:[ \t>]|[-+*][ \t]|\d{1,9}[.)][ \t])*)\\((?:#|`{3}|~{3}|[=-]+[ \t]*$))"  # heading...
    r"|^\\\*\\(\*[^*]+?:\*\*)",  # a label
    re.MULTILINE,
)


def unescape_markdown(text: str) -> str:
    """The text before ``escape_markdown``, when the page's escapes are Herald's own."""
    if "\\" not in text:
        return text

    def drop(match: re.Match[str]) -> str:
        if match[2] is not None:
            return match[1] + match[2]
        if match[4] is not None:
            return match[3] + match[4]
        return "*" + match[5]

    candidate = _CANDIDATES.sub(drop, text)
    return candidate if escape_markdown(candidate) == text else text
