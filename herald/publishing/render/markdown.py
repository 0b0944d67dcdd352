"""The handbook page in Markdown, in the exact layout of the vendor's page (``seed/``).

``render_page`` is a pure function: the page's prose (a ``PageContent``, built from
the vendor profile) and two lists of advisory snapshots in, the page's text out.
``herald.publishing.importers.mdimport`` reads the same layout back, so that a page exported
and imported again is the same page, byte for byte.

The layout, block by block, with one blank line between blocks::

    ---
    <front matter>---
    <intro>
    ## <approach heading>      <approach>
    ## <reporting heading>     <reporting>
    ## <updating heading>      <updating>
    ## <best practices heading> <best practices>
    ## <current heading>       ### <advisory> ... | ### <empty state heading> <empty state>
    ## <past heading>          <past intro>  ### <advisory> ...  ### <template heading> <block>

An advisory is the template's bold-field block; its text is escaped so that it stays
inside its field (``herald.publishing.render.mdescape``). A withdrawn advisory stays on the
page, under past advisories, with ``**Status:** Withdrawn`` and a
``**Reason for withdrawal:**`` paragraph before its description, so that readers who
acted on it learn that it no longer stands.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from herald.advisories.snapshot import AdvisorySnapshot
from herald.publishing.render.mdescape import escape_markdown, escape_title

if TYPE_CHECKING:
    from herald.core.models import VendorProfile

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
SEVERITY_LABELS = {"low": "Low", "medium": "Medium", "high": "High", "critical": "Critical"}
STATUS_LABELS = {"reported": "Reported", "fixed": "Fixed", "resolved": "Resolved"}
WITHDRAWN_LABEL = "Withdrawn"
NO_CVE = "None"

# The template's field labels, in the template's order. The suffix is what follows
# the label on its line: two spaces (a Markdown line break) everywhere except after
# "Affected users", where the template has none; copied so the page stays the
# vendor's page byte for byte.
LABEL_DATE = "Date"
LABEL_CVE = "CVE"
LABEL_SEVERITY = "Severity"
LABEL_STATUS = "Status"
LABEL_WITHDRAWAL = "Reason for withdrawal"
LABEL_DESCRIPTION = "Description"
LABEL_AFFECTED = "Affected users"
LABEL_RESOLUTION = "Resolution"
LABEL_TIMELINE = "Timeline"
BREAK = "  "
TIMELINE_LABELS = (
    ("discovered_at", "Discovered"),
    ("reported_at", "Reported"),
    ("fixed_at", "Fixed"),
    ("disclosed_at", "Disclosed"),
)


def format_date(value: dt.date) -> str:
    """The page's date form, "January 15, 2024", independent of the process locale."""
    return f"{MONTHS[value.month - 1]} {value.day}, {value.year}"


@dataclass(frozen=True)
class PageContent:
    """Everything on the page that is not an advisory. Field names are the profile's."""

    front_matter: str = ""
    intro: str = ""
    approach_heading: str = ""
    approach: str = ""
    reporting_heading: str = ""
    reporting: str = ""
    updating_heading: str = ""
    updating: str = ""
    best_practices_heading: str = ""
    best_practices: str = ""
    current_heading: str = ""
    empty_state_heading: str = ""
    empty_state: str = ""
    past_heading: str = ""
    past_intro: str = ""
    template_heading: str = ""
    template_block: str = ""

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_profile(cls, profile: VendorProfile) -> PageContent:
        return cls(**{name: getattr(profile, name) or "" for name in cls.field_names()})

    def as_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in self.field_names()}

    def prose_sections(self) -> tuple[tuple[str, str], ...]:
        """(heading, text) of the four prose sections, in the page's order."""
        return (
            (self.approach_heading, self.approach),
            (self.reporting_heading, self.reporting),
            (self.updating_heading, self.updating),
            (self.best_practices_heading, self.best_practices),
        )


def _field(label: str, text: str, *, suffix: str = BREAK) -> str:
    """A multi-line field: the label on its own line, the text below it."""
    head = f"**{label}:**{suffix}"
    return f"{head}\n{text}" if text else head


def advisory_blocks(advisory: AdvisorySnapshot) -> list[str]:
    """The blocks of one advisory: heading, header fields, prose fields, timeline."""
    published = advisory.published_at
    date = format_date(published.astimezone(dt.UTC).date()) if published else ""
    cves = ", ".join(advisory.cve_ids) or NO_CVE
    severity = SEVERITY_LABELS.get(advisory.severity, advisory.severity.capitalize())
    status = (
        WITHDRAWN_LABEL
        if advisory.is_withdrawn
        else STATUS_LABELS.get(advisory.status, advisory.status.capitalize())
    )
    header = "\n".join(
        f"**{label}:** {value}{BREAK}"
        for label, value in (
            (LABEL_DATE, date),
            (LABEL_CVE, cves),
            (LABEL_SEVERITY, severity),
            (LABEL_STATUS, status),
        )
    )
    blocks = [f"### {escape_title(advisory.title)}", header]
    if advisory.is_withdrawn:
        blocks.append(_field(LABEL_WITHDRAWAL, escape_markdown(advisory.withdrawn_reason)))
    timeline = "\n".join(
        f"- **{label}:** {format_date(value)}"
        for name, label in TIMELINE_LABELS
        if (value := getattr(advisory, name)) is not None
    )
    blocks += [
        _field(LABEL_DESCRIPTION, escape_markdown(advisory.description)),
        _field(LABEL_AFFECTED, escape_markdown(advisory.affected_users), suffix=""),
        _field(LABEL_RESOLUTION, escape_markdown(advisory.resolution)),
        _field(LABEL_TIMELINE, timeline),
    ]
    return blocks


def render_page(
    page: PageContent,
    current: Sequence[AdvisorySnapshot],
    past: Sequence[AdvisorySnapshot],
) -> str:
    """The whole page. ``current`` and ``past`` are rendered in the order given.

    Callers pass only public advisories (published, or withdrawn under ``past``);
    the renderer refuses anything else rather than trust them (DESIGN.md rule 3).
    """
    for advisory in (*current, *past):
        if advisory.state not in ("published", "withdrawn"):
            raise ValueError(f"{advisory.identifier} is a {advisory.state}; it is never rendered.")
    return render_page_of_texts(
        page, [advisory_text(a) for a in current], [advisory_text(a) for a in past]
    )


def advisory_text(advisory: AdvisorySnapshot) -> str:
    """One advisory's part of the page: its blocks, joined as the page joins them."""
    return "\n\n".join(block for block in advisory_blocks(advisory) if block)


def render_page_of_texts(page: PageContent, current: Sequence[str], past: Sequence[str]) -> str:
    """The page around advisory texts already rendered by ``advisory_text`` (the
    handbook builder keeps them between publications, so that a page of 10,000
    advisories is a join rather than 10,000 renders). Callers vouch that every text
    is a public advisory's."""
    parts = page_parts(page, [entry_part(t) for t in current], [entry_part(t) for t in past])
    return b"".join(parts).decode()


def entry_part(text: str) -> bytes:
    """An advisory's text as ``page_parts`` takes it: encoded, the blank line after it."""
    return (text + "\n\n").encode()


def page_parts(page: PageContent, current: Sequence[bytes], past: Sequence[bytes]) -> list[bytes]:
    """The page as consecutive pieces, encoded, whose join is ``render_page_of_texts``:
    one per block, each with the blank line after it. ``current`` and ``past`` are
    ``entry_part``s, so that a caller keeping them renders no advisory again."""
    blocks: list[str | bytes] = []
    if page.front_matter:
        front = page.front_matter if page.front_matter.endswith("\n") else page.front_matter + "\n"
        blocks.append(f"---\n{front}---")
    blocks.append(page.intro)
    for heading, text in page.prose_sections():
        blocks += [f"## {heading}", text]
    blocks.append(f"## {page.current_heading}")
    if current:
        blocks += current
    else:
        if page.empty_state_heading:
            blocks.append(f"### {page.empty_state_heading}")
        blocks.append(page.empty_state)
    blocks += [f"## {page.past_heading}", page.past_intro]
    blocks += past
    if page.template_heading:
        blocks += [f"### {page.template_heading}", page.template_block]
    # Empty blocks are left out rather than leaving two blank lines: the importer
    # reads a section with no text as "", so both directions agree.
    parts = [
        block if isinstance(block, bytes) else entry_part(block)
        for block in blocks
        if block and block != b"\n\n"
    ]
    if not parts:
        return [b"\n"]
    parts[-1] = parts[-1][:-1]  # the page ends with one newline
    return parts
