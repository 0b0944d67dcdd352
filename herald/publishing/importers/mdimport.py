"""Reading a handbook page in the layout of ``herald.publishing.render.markdown`` back into data.

``parse_page`` is pure, like the renderer: text in, a ``ParsedPage`` out, or a
``PageError`` naming the line and what is wrong with it. It is strict on purpose:
whatever it accepts, ``render_page`` writes back the same way, so a page that
imports cleanly exports to the same bytes. Anything it cannot place (an unknown
section, a half-filled advisory, a resolved advisory under "Current advisories")
is refused rather than guessed at.

Rules beyond the layout itself:

- Section headings are recognised by name (case and spacing aside), from the
  names the caller knows (the vendor profile's and Herald's defaults), and must
  come in the page's order: approach, reporting, updating, best practices,
  current, past.
- Under current and past advisories, a ``###`` block whose first line is a bold
  field (``**Date:**``) is an advisory; under current advisories a block of
  plain prose, alone, is the empty state; under past advisories a block that
  opens with a code fence, last on the page, is the advisory template.
- ``**CVE:** None`` means no CVE id. ``**Status:** Withdrawn`` needs a
  ``**Reason for withdrawal:**`` paragraph; the status underneath is then not on
  the page, and is taken as resolved when the timeline has a fixed date and the
  advisory a resolution, reported otherwise.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from herald.advisories.snapshot import AdvisorySnapshot, simple_vulnerabilities
from herald.advisories.validation import CVE_RE, check_timeline
from herald.core.errors import HeraldError, ValidationError
from herald.publishing.render.markdown import (
    LABEL_AFFECTED,
    LABEL_CVE,
    LABEL_DATE,
    LABEL_DESCRIPTION,
    LABEL_RESOLUTION,
    LABEL_SEVERITY,
    LABEL_STATUS,
    LABEL_TIMELINE,
    LABEL_WITHDRAWAL,
    MONTHS,
    NO_CVE,
    SEVERITY_LABELS,
    STATUS_LABELS,
    TIMELINE_LABELS,
    WITHDRAWN_LABEL,
    PageContent,
    format_date,
)
from herald.publishing.render.mdescape import FENCE_RE, FIELD_RE, unescape_markdown, unescape_title

SECTIONS = ("approach", "reporting", "updating", "best_practices", "current", "past")
SECTION_NAMES = {
    "approach": "our approach",
    "reporting": "reporting",
    "updating": "updating this page",
    "best_practices": "best practices",
    "current": "current advisories",
    "past": "past advisories",
}
FIELD_ORDER = (
    LABEL_DATE,
    LABEL_CVE,
    LABEL_SEVERITY,
    LABEL_STATUS,
    LABEL_WITHDRAWAL,
    LABEL_DESCRIPTION,
    LABEL_AFFECTED,
    LABEL_RESOLUTION,
    LABEL_TIMELINE,
)
SINGLE_LINE_FIELDS = (LABEL_DATE, LABEL_CVE, LABEL_SEVERITY, LABEL_STATUS)
DATE_EXAMPLE = "January 15, 2024"

_FIELD_RE = FIELD_RE
_TIMELINE_RE = re.compile(r"^[-*] \*\*(?P<label>[^*]+?):\*\*(?P<rest>.*)$")
_FENCE_RE = FENCE_RE
_DATE_RE = re.compile(r"^(?P<month>[A-Za-z]+) (?P<day>\d{1,2}), (?P<year>\d{4})$")
_MONTH_NUMBERS = {name.lower(): number for number, name in enumerate(MONTHS, start=1)}


class PageError(HeraldError):
    """The page cannot be imported; ``line`` is where the problem is (1-based)."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.problem = message
        super().__init__(f"line {line}: {message}")


@dataclass(frozen=True)
class ParsedAdvisory:
    """One advisory as the page states it, with the line of its heading."""

    line: int
    section: str  # "current" or "past"
    title: str
    date: dt.date
    cve_ids: tuple[str, ...]
    severity: str
    page_status: str  # reported, fixed, resolved or withdrawn
    description: str
    affected_users: str
    resolution: str
    withdrawn_reason: str = ""
    discovered_at: dt.date | None = None
    reported_at: dt.date | None = None
    fixed_at: dt.date | None = None
    disclosed_at: dt.date | None = None
    lines: Mapping[str, int] = field(default_factory=dict, compare=False)

    @property
    def withdrawn(self) -> bool:
        return self.page_status == "withdrawn"

    @property
    def status(self) -> str:
        """The status Herald stores; a withdrawn advisory's is not on the page."""
        if not self.withdrawn:
            return self.page_status
        return "resolved" if self.fixed_at and self.resolution.strip() else "reported"

    @property
    def published_at(self) -> dt.datetime:
        """The page's Date is the first publication, taken as 00:00 UTC that day."""
        return dt.datetime.combine(self.date, dt.time(0, 0), tzinfo=dt.UTC)

    def field_values(self) -> dict[str, Any]:
        """What ``do_create_advisory`` takes for this advisory."""
        return {
            "title": self.title,
            "description": self.description,
            "affected_users": self.affected_users,
            "resolution": self.resolution,
            "cve_ids": list(self.cve_ids),
            "severity": self.severity,
            "status": self.status,
            "discovered_at": self.discovered_at,
            "reported_at": self.reported_at,
            "fixed_at": self.fixed_at,
            "disclosed_at": self.disclosed_at,
        }

    def snapshot(self, identifier: str = "") -> AdvisorySnapshot:
        """The advisory as the renderer would get it once imported (no database)."""
        return AdvisorySnapshot(
            identifier=identifier,
            title=self.title,
            state="withdrawn" if self.withdrawn else "published",
            status=self.status,
            severity=self.severity,
            description=self.description,
            vulnerabilities=simple_vulnerabilities(cve_ids=self.cve_ids),
            affected_users=self.affected_users,
            resolution=self.resolution,
            discovered_at=self.discovered_at,
            reported_at=self.reported_at,
            fixed_at=self.fixed_at,
            disclosed_at=self.disclosed_at,
            published_at=self.published_at,
            withdrawn_reason=self.withdrawn_reason,
        )


@dataclass(frozen=True)
class ParsedPage:
    """A page: its prose (only the profile fields the page states) and its advisories."""

    content: Mapping[str, str]
    current: tuple[ParsedAdvisory, ...]
    past: tuple[ParsedAdvisory, ...]

    @property
    def advisories(self) -> tuple[ParsedAdvisory, ...]:
        return (*self.current, *self.past)

    def page_content(self, base: PageContent | None = None) -> PageContent:
        """``base`` (the profile's page) with what this page states laid over it."""
        values = (base or PageContent()).as_dict()
        values.update(self.content)
        return PageContent(**values)


# ---------------------------------------------------------------- lines and blocks

Line = tuple[int, str]  # (1-based line number, text without the newline)


@dataclass
class _Block:
    """A heading (``##`` or ``###``) and the lines under it, up to the next one."""

    line: int
    title: str
    body: list[Line]


def _text(lines: Iterable[Line]) -> str:
    """The text of some lines, without the blank lines around it; trailing spaces kept."""
    return "\n".join(text for _, text in lines).strip("\n")


def _split(lines: list[Line], marker: str) -> tuple[list[Line], list[_Block]]:
    """Lines before the first ``marker`` heading, and one block per heading.

    Headings inside code blocks are text; an unclosed code block is an error,
    since everything after it would silently become part of it.
    """
    lead: list[Line] = []
    blocks: list[_Block] = []
    fence: tuple[int, str] | None = None
    for number, text in lines:
        match = _FENCE_RE.match(text)
        if fence is not None:
            if _closes(fence[1], text):
                fence = None
        elif match:
            fence = (number, match["fence"])
        elif text.startswith(marker) or text == marker.rstrip():
            blocks.append(_Block(number, text[len(marker) :].strip(), []))
            continue
        (blocks[-1].body if blocks else lead).append((number, text))
    if fence is not None:
        raise PageError(fence[0], f"the code block opened here ({fence[1]}) is never closed")
    return lead, blocks


def _closes(fence: str, text: str) -> bool:
    """Whether ``text`` closes the code block opened by ``fence`` (CommonMark's rule)."""
    match = _FENCE_RE.match(text)
    return (
        match is not None
        and match["fence"][0] == fence[0]
        and len(match["fence"]) >= len(fence)
        and not text.strip().strip(fence[0])
    )


def _first_content(lines: list[Line]) -> Line | None:
    return next(((n, t) for n, t in lines if t.strip()), None)


def _norm(heading: str) -> str:
    return " ".join(heading.split()).casefold()


# ---------------------------------------------------------------- values


def parse_date(value: str, line: int, what: str) -> dt.date:
    match = _DATE_RE.match(value.strip())
    month = _MONTH_NUMBERS.get(match["month"].lower()) if match else None
    if match is None or month is None:
        raise PageError(line, f"{what}: {value.strip()[:60]!r} is not a date like {DATE_EXAMPLE}")
    try:
        return dt.date(int(match["year"]), month, int(match["day"]))
    except ValueError:
        raise PageError(line, f"{what}: {value.strip()!r} is not a day of the calendar") from None


def _parse_cves(value: str, line: int) -> tuple[str, ...]:
    value = value.strip()
    if value.casefold() == NO_CVE.casefold():
        return ()
    ids: list[str] = []
    for raw in value.split(","):
        cve = raw.strip()
        match = CVE_RE.match(cve)
        if not match or int(match.group(1)) < 1999:
            raise PageError(
                line,
                f"{cve[:60]!r} is not a CVE id (CVE-YYYY-NNNN, four or more digits); list ids "
                f"separated by commas, or write {NO_CVE!r}",
            )
        if cve in ids:
            raise PageError(line, f"{cve} is listed twice")
        ids.append(cve)
    return tuple(ids)


def _parse_choice(value: str, line: int, what: str, labels: Mapping[str, str]) -> str:
    key = value.strip().lower()
    if key not in labels:
        choices = ", ".join(labels.values())
        raise PageError(line, f"unknown {what} {value.strip()[:40]!r}; use one of {choices}")
    return key


# ---------------------------------------------------------------- advisories


def _field_texts(block: _Block) -> dict[str, tuple[int, str, list[Line]]]:
    """label -> (line, rest of the label's line, lines below it), in the template's order.

    A field runs until the next label that may follow it, so a description can hold
    any text, even a bold "**Date:**" of its own, without ending early.
    """
    found: dict[str, tuple[int, str, list[Line]]] = {}
    position = -1
    current: list[Line] | None = None
    fence: str | None = None
    for number, text in block.body:
        match = _FENCE_RE.match(text)
        if fence is not None:
            if _closes(fence, text):
                fence = None
        elif match:
            fence = match["fence"]
        else:
            label_match = _FIELD_RE.match(text)
            label = label_match["label"].strip() if label_match else ""
            if label in FIELD_ORDER[position + 1 :]:
                position = FIELD_ORDER.index(label)
                current = []
                found[label] = (number, label_match["rest"] if label_match else "", current)
                continue
        if current is None:
            if text.strip():
                raise PageError(
                    number,
                    f"expected **{LABEL_DATE}:** as the first line of advisory "
                    f"{block.title!r}, found {text.strip()[:60]!r}",
                )
            continue
        current.append((number, text))
    return found


def _parse_advisory(block: _Block, section: str) -> ParsedAdvisory:
    title = block.title
    if not title:
        raise PageError(block.line, "an advisory needs a title after '### '")
    found = _field_texts(block)
    for label in FIELD_ORDER:
        if label not in found and label != LABEL_WITHDRAWAL:
            raise PageError(block.line, f"advisory {title!r} has no **{label}:** field")
    values: dict[str, str] = {}
    for label in SINGLE_LINE_FIELDS:
        number, rest, below = found[label]
        extra = _first_content(below)
        if extra is not None:
            raise PageError(
                extra[0],
                f"unexpected text after the **{label}:** line of {title!r}: "
                f"{extra[1].strip()[:60]!r}",
            )
        if not rest.strip():
            raise PageError(number, f"**{label}:** of {title!r} is empty")
        values[label] = rest.strip()

    def prose(label: str) -> str:
        _, rest, below = found[label]
        lines = ([(0, rest.strip())] if rest.strip() else []) + below
        return unescape_markdown(_text(lines))

    lines = {label: found[label][0] for label in found}
    date = parse_date(values[LABEL_DATE], lines[LABEL_DATE], f"**{LABEL_DATE}:**")
    cve_ids = _parse_cves(values[LABEL_CVE], lines[LABEL_CVE])
    severity = _parse_choice(
        values[LABEL_SEVERITY], lines[LABEL_SEVERITY], "severity", SEVERITY_LABELS
    )
    page_status = _parse_choice(
        values[LABEL_STATUS],
        lines[LABEL_STATUS],
        "status",
        {**STATUS_LABELS, "withdrawn": WITHDRAWN_LABEL},
    )
    withdrawn_reason = prose(LABEL_WITHDRAWAL) if LABEL_WITHDRAWAL in found else ""
    if page_status == "withdrawn" and not withdrawn_reason.strip():
        raise PageError(
            lines[LABEL_STATUS],
            f"{title!r} is withdrawn: say why in a "
            f"**{LABEL_WITHDRAWAL}:** paragraph after its status",
        )
    if page_status != "withdrawn" and LABEL_WITHDRAWAL in found:
        raise PageError(
            lines[LABEL_WITHDRAWAL],
            f"{title!r} has a reason for withdrawal but "
            f"its status is {STATUS_LABELS[page_status]}, not {WITHDRAWN_LABEL}",
        )
    timeline = _parse_timeline(found[LABEL_TIMELINE], title)
    advisory = ParsedAdvisory(
        line=block.line,
        section=section,
        title=unescape_title(title),
        date=date,
        cve_ids=cve_ids,
        severity=severity,
        page_status=page_status,
        description=prose(LABEL_DESCRIPTION),
        affected_users=prose(LABEL_AFFECTED),
        resolution=prose(LABEL_RESOLUTION),
        withdrawn_reason=withdrawn_reason,
        lines={**lines, **{name: number for name, (number, _) in timeline.items()}},
        **{name: value for name, (_, value) in timeline.items()},
    )
    _check_advisory(advisory)
    return advisory


def _parse_timeline(
    found: tuple[int, str, list[Line]], title: str
) -> dict[str, tuple[int, dt.date]]:
    number, rest, below = found
    if rest.strip():
        raise PageError(number, f"the timeline of {title!r} is a list below **{LABEL_TIMELINE}:**")
    names = {label.lower(): name for name, label in TIMELINE_LABELS}
    dates: dict[str, tuple[int, dt.date]] = {}
    for line, text in below:
        if not text.strip():
            continue
        match = _TIMELINE_RE.match(text.strip())
        name = names.get(match["label"].strip().lower()) if match else None
        if match is None or name is None:
            labels = ", ".join(label for _, label in TIMELINE_LABELS)
            raise PageError(
                line,
                f"a timeline line reads '- **Discovered:** {DATE_EXAMPLE}' ({labels}); "
                f"found {text.strip()[:60]!r}",
            )
        if name in dates:
            raise PageError(
                line,
                f"{match['label'].strip()} appears twice in the timeline "
                f"(first on line {dates[name][0]})",
            )
        dates[name] = (line, parse_date(match["rest"], line, f"**{match['label'].strip()}:**"))
    return dates


def _check_advisory(advisory: ParsedAdvisory) -> None:
    """What Herald needs to publish the advisory, reported at the line concerned."""
    lines = advisory.lines
    title = advisory.title
    if advisory.section == "current" and advisory.page_status in ("resolved", "withdrawn"):
        raise PageError(
            lines[LABEL_STATUS],
            f"{title!r} is {advisory.page_status}: resolved and "
            "withdrawn advisories belong under past advisories",
        )
    if advisory.section == "past" and advisory.page_status in ("reported", "fixed"):
        raise PageError(
            lines[LABEL_STATUS],
            f"{title!r} is {advisory.page_status}, which is "
            "current: move it under current advisories, or mark it Resolved",
        )
    for label, value in (
        (LABEL_DESCRIPTION, advisory.description),
        (LABEL_AFFECTED, advisory.affected_users),
    ):
        if not value.strip():
            raise PageError(lines[label], f"**{label}:** of {title!r} is empty")
    if advisory.page_status in ("fixed", "resolved"):
        if advisory.fixed_at is None:
            raise PageError(
                lines[LABEL_TIMELINE],
                f"{title!r} is {advisory.page_status}: its "
                "timeline needs the date it was fixed (- **Fixed:** ...)",
            )
        if not advisory.resolution.strip():
            raise PageError(
                lines[LABEL_RESOLUTION],
                f"{title!r} is {advisory.page_status}: "
                f"**{LABEL_RESOLUTION}:** must say what the fix is",
            )
    if advisory.reported_at is None:
        raise PageError(
            lines[LABEL_TIMELINE],
            f"the timeline of {title!r} needs the date it was reported (- **Reported:** ...)",
        )
    try:
        check_timeline({name: getattr(advisory, name) for name, _ in TIMELINE_LABELS})
    except ValidationError as exc:
        name, messages = next(iter(exc.message_dict.items()))
        raise PageError(lines.get(name, lines[LABEL_TIMELINE]), messages[0]) from None


# ---------------------------------------------------------------- the page


def _front_matter(lines: list[Line]) -> tuple[str, list[Line]]:
    """The raw front matter (with its final newline) and the lines after it."""
    if not lines or lines[0][1].rstrip() != "---":
        return "", lines
    close = next((i for i, (_, text) in enumerate(lines[1:], 1) if text.rstrip() == "---"), None)
    if close is None:
        raise PageError(1, "the front matter opened here is never closed by a line '---'")
    raw = "".join(text + "\n" for _, text in lines[1:close])
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = mark.line + 2 if mark is not None else 2
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PageError(where, f"the front matter is not valid YAML: {problem}") from None
    if data is not None and not isinstance(data, dict):
        raise PageError(2, "the front matter must be YAML 'key: value' lines")
    return raw, lines[close + 1 :]


def default_headings() -> dict[str, tuple[str, ...]]:
    """Herald's own section headings (the seed page's), from the profile's defaults."""
    from herald.core.models import VendorProfile

    return {
        key: (str(getattr(VendorProfile._meta.get_field(f"{key}_heading"), "default", "")),)
        for key in SECTIONS
    }


def parse_page(text: str, *, headings: Mapping[str, Iterable[str]] | None = None) -> ParsedPage:
    """Read a page; ``headings`` maps each section to the heading names it may have."""
    given = {key: list(names) for key, names in (headings or default_headings()).items()}
    known = {key: {_norm(name) for name in names} for key, names in given.items()}
    raw_lines = text.replace("\r\n", "\n").split("\n")
    if raw_lines and raw_lines[-1] == "":
        raw_lines.pop()  # the file's final newline ends the last line; it is not a blank line
    lines = list(enumerate(raw_lines, start=1))
    front_matter, rest = _front_matter(lines)
    intro, blocks = _split(rest, "## ")
    content: dict[str, str] = {"front_matter": front_matter, "intro": _text(intro)}
    sections: dict[str, _Block] = {}
    for block in blocks:
        key = next((k for k in SECTIONS if _norm(block.title) in known.get(k, ())), None)
        if key is None:
            expected = ", ".join(repr((given.get(k) or [SECTION_NAMES[k]])[0]) for k in SECTIONS)
            raise PageError(
                block.line,
                f"unknown section heading {block.title[:80]!r}; the page's "
                f"sections are, in order: {expected}",
            )
        if key in sections:
            raise PageError(
                block.line,
                f"a second {SECTION_NAMES[key]!r} section (the first is "
                f"on line {sections[key].line})",
            )
        expected_key = SECTIONS[len(sections)]
        if key != expected_key:
            raise PageError(
                block.line,
                f"section {block.title!r} comes before the "
                f"{SECTION_NAMES[expected_key]!r} section; the page's order is "
                + ", ".join(SECTION_NAMES[k] for k in SECTIONS),
            )
        sections[key] = block
        content[f"{key}_heading"] = block.title
        if key not in ("current", "past"):
            content[key] = _text(block.body)
    if len(sections) < len(SECTIONS):
        missing = SECTIONS[len(sections)]
        end = lines[-1][0] if lines else 1
        raise PageError(end, f"the page ends without its {SECTION_NAMES[missing]!r} section")
    current = _parse_current(sections["current"], content)
    past = _parse_past(sections["past"], content)
    _check_duplicates((*current, *past))
    return ParsedPage(content=content, current=current, past=past)


def _is_advisory(block: _Block) -> bool:
    first = _first_content(block.body)
    return first is not None and _FIELD_RE.match(first[1]) is not None


def _parse_current(section: _Block, content: dict[str, str]) -> tuple[ParsedAdvisory, ...]:
    lead, blocks = _split(section.body, "### ")
    advisories = [b for b in blocks if _is_advisory(b)]
    prose = [b for b in blocks if not _is_advisory(b)]
    if not advisories:
        # No advisory: the section says so, in its empty state ("All is well").
        first = _first_content(lead)
        if first is not None:
            raise PageError(
                first[0],
                f"text under {section.title!r} must be an advisory "
                "(### Title, then its **Date:** field) or the empty state "
                "(### No active advisories, then a sentence)",
            )
        if len(prose) != 1:
            where = prose[1].line if prose else section.line
            raise PageError(
                where,
                f"with no current advisory, {section.title!r} holds one "
                "empty state: '### No active advisories' and a sentence",
            )
        if not prose[0].title:
            raise PageError(prose[0].line, "the empty state needs a heading after '### '")
        content["empty_state_heading"] = prose[0].title
        content["empty_state"] = _text(prose[0].body)
        return ()
    first = _first_content(lead)
    if first is not None:
        raise PageError(
            first[0],
            f"text under {section.title!r} must belong to an advisory "
            "(### Title, then its **Date:** field)",
        )
    if prose:
        raise PageError(
            prose[0].line,
            f"{prose[0].title!r} is not an advisory (its first "
            f"line is not **{LABEL_DATE}:**), and only a page with no current "
            "advisory has an empty state",
        )
    return tuple(_parse_advisory(b, "current") for b in advisories)


def _parse_past(section: _Block, content: dict[str, str]) -> tuple[ParsedAdvisory, ...]:
    lead, blocks = _split(section.body, "### ")
    content["past_intro"] = _text(lead)
    content["template_heading"] = ""
    content["template_block"] = ""
    advisories: list[ParsedAdvisory] = []
    for index, block in enumerate(blocks):
        if _is_advisory(block):
            advisories.append(_parse_advisory(block, "past"))
            continue
        first = _first_content(block.body)
        if first is None or not _FENCE_RE.match(first[1]):
            raise PageError(
                block.line,
                f"{block.title!r} under {section.title!r} is neither an "
                f"advisory (first line **{LABEL_DATE}:**) nor the advisory "
                "template (a code block)",
            )
        if index != len(blocks) - 1:
            later = blocks[index + 1]
            raise PageError(
                later.line,
                f"{later.title!r} comes after the advisory template, which ends the page",
            )
        _check_template_end(block, first[0])
        # Everything from the fence to the end of the file, trailing blank lines
        # included: they are part of the vendor's page.
        content["template_heading"] = block.title
        content["template_block"] = "\n".join(t for n, t in block.body if n >= first[0])
    return tuple(advisories)


def _check_template_end(block: _Block, start: int) -> None:
    """Only blank lines may follow the template's code block."""
    opener = _FENCE_RE.match(dict(block.body)[start])
    assert opener is not None
    fence = opener["fence"]
    closed = False
    for number, text in block.body:
        if number <= start:
            continue
        if closed:
            if text.strip():
                raise PageError(
                    number, "text after the advisory template's code block, which ends the page"
                )
            continue
        closed = _closes(fence, text)


def _check_duplicates(advisories: Iterable[ParsedAdvisory]) -> None:
    """Two blocks for one advisory would import as one; say so instead."""
    by_cve: dict[str, ParsedAdvisory] = {}
    by_title: dict[tuple[str, dt.date], ParsedAdvisory] = {}
    for advisory in advisories:
        for cve in advisory.cve_ids:
            if cve in by_cve:
                raise PageError(
                    advisory.line,
                    f"{cve} is also the CVE of {by_cve[cve].title!r} on line {by_cve[cve].line}",
                )
            by_cve[cve] = advisory
        key = (_norm(advisory.title), advisory.date)
        if key in by_title:
            raise PageError(
                advisory.line,
                f"{advisory.title!r} of {format_date(advisory.date)} "
                f"is already on line {by_title[key].line}",
            )
        by_title[key] = advisory
