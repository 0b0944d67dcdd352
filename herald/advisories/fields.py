"""The fields of an advisory a person writes, declared once.

``ADVISORY_FIELDS`` is the one list. The model (``herald.advisories.models``) stores
them; everything else reads this declaration: the action's cleaning
(``herald.advisories.actions``), the JSON shape (``serialize``), the snapshot the
renderers take in, the desk form, the API schemas, the CLI's options of
``herald advisory create/update``, what publishing requires, and the columns the
handbook Markdown page loads. ``herald/advisories/tests/test_fields.py`` fails when
the model or any of those surfaces misses a declared field.

Fields Herald writes itself (identifier, scores, publication moments, the state)
are not here: nobody types them. Neither are the rows (affected products, credits,
references), which have their own shapes.

CONTRIBUTING.md says how to add a field, with the files it touches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from django.db import models

from herald.core.text import Kind as TextKind

__all__ = [
    "ADVISORY_FIELDS",
    "FIELDS",
    "AdvisoryField",
    "FieldKind",
    "choices_of",
    "column",
    "fields_of_kind",
    "markdown_page_fields",
    "public_fields",
]

# What a field holds, which decides how every surface parses and shows it:
#   line      one line of plain text (check_text kind "line")
#   markdown  Markdown text, rendered sanitized (check_text kind "markdown")
#   vector    a CVSS vector, scored when saved
#   choice    one of the model field's choices
#   list      a list of short strings (ids, regions): repeatable on the CLI,
#             comma-separated in the desk form, a JSON array in the API
#   date      a calendar date, YYYY-MM-DD
#   datetime  a moment, ISO 8601 (UTC unless an offset is given)
#   bool      a yes/no flag
FieldKind = Literal["line", "markdown", "vector", "choice", "list", "date", "datetime", "bool"]


@dataclass(frozen=True)
class AdvisoryField:
    """One field of an advisory, as every surface needs to know it."""

    name: str
    kind: FieldKind
    label: str
    # What goes there, for the person at the desk form (its help line).
    help: str
    # One short line: the API's description and the CLI's --help.
    description: str = ""
    # The most characters the action takes (text kinds); None: the model's own limit.
    max_length: int | None = None
    # Publishing refuses an advisory without it: the words name what is missing
    # ("Publishing needs a title.").
    needed_to_publish: str = ""
    # CLI options; empty: ``--name-with-dashes``. Markdown fields also take
    # ``--<flag>-file FILE`` (the first flag's name plus -file).
    cli: tuple[str, ...] = ()
    # The CLI's placeholder for the value; empty: one from the kind (TEXT, DATE, ...).
    metavar: str = ""
    # False: the desk sees it (form, desk API, CLI), the public never does; it is then
    # neither in the snapshot the renderers take in nor in the public API.
    public: bool = True
    # Shown on the handbook Markdown page (publishing.markdown.advisory_blocks). The page
    # loads only these columns, so this must be True for every field it shows: a test
    # compares the page built from columns with the page rendered from whole snapshots.
    in_markdown: bool = False
    # Where it is stored. "vulnerability": the one-form shorthand for the advisory's
    # vulnerabilities (``snapshot.simple_vulnerabilities``: one per CVE id, each with
    # these weaknesses and scores); every vulnerability holds its own.
    home: Literal["advisory", "vulnerability"] = "advisory"

    @property
    def flags(self) -> tuple[str, ...]:
        return self.cli or ("--" + self.name.replace("_", "-"),)

    @property
    def file_flag(self) -> str | None:
        """The option that reads a Markdown field from a file (``-`` for stdin)."""
        return self.flags[0] + "-file" if self.kind == "markdown" else None

    @property
    def text_kind(self) -> TextKind | None:
        """What the text gatekeeper (``herald.core.text.check_text``) checks it as."""
        if self.kind == "line":
            return "line"
        if self.kind == "markdown":
            return "markdown"
        return None


_TIMELINE_HELP = {
    "discovered_at": "When it was found.",
    "reported_at": "When it reached us; on or after discovered.",
    "fixed_at": "When the fix shipped; needed for Fixed and Resolved.",
    "disclosed_at": "Blank: the day it is published.",
}

ADVISORY_FIELDS: tuple[AdvisoryField, ...] = (
    AdvisoryField(
        "title",
        "line",
        "Title",
        help="The heading on the public page: what is vulnerable, in plain words, "
        "e.g. “Stored XSS in dashboard names”.",
        max_length=300,
        needed_to_publish="a title",
        in_markdown=True,
    ),
    AdvisoryField(
        "summary",
        "line",
        "Summary",
        help="One sentence for feeds and lists; the public page shows it under the title.",
        description="one-line summary of the advisory",
        max_length=500,
        # On update --summary is the change summary; the command leaves it out there.
        cli=("--summary", "--advisory-summary"),
    ),
    AdvisoryField(
        "cve_ids",
        "list",
        "CVE ids",
        help="Comma-separated, e.g. CVE-2026-12345. “None” on the page if empty.",
        cli=("--cve",),
        metavar="CVE-YYYY-NNNN",
        in_markdown=True,
        home="vulnerability",
    ),
    AdvisoryField(
        "cwe_ids",
        "list",
        "CWE ids",
        help="The weakness, comma-separated, e.g. CWE-79. Used by OSV, CSAF and CVE.",
        cli=("--cwe",),
        metavar="CWE-N",
        home="vulnerability",
    ),
    AdvisoryField(
        "severity",
        "choice",
        "Severity",
        help="Low, Medium, High or Critical on the page. Set from the CVSS score when a "
        "vector is given (v4.0 first).",
        description="derived from the CVSS vector when one is given",
        needed_to_publish="a severity (or a CVSS vector)",
        in_markdown=True,
    ),
    AdvisoryField(
        "cvss_v3_vector",
        "vector",
        "CVSS v3.1 vector",
        help="e.g. CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N. Scored when saved.",
        description="CVSS:3.1/...",
        max_length=200,
        cli=("--cvss-v3",),
        metavar="VECTOR",
        home="vulnerability",
    ),
    AdvisoryField(
        "cvss_v4_vector",
        "vector",
        "CVSS v4.0 vector",
        help="e.g. CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N.",
        description="CVSS:4.0/...",
        max_length=400,
        cli=("--cvss-v4",),
        metavar="VECTOR",
        home="vulnerability",
    ),
    AdvisoryField(
        "status",
        "choice",
        "Status",
        help="Reported: known, not yet fixed. Fixed: a fix is out (needs the fixed date). "
        "Resolved: nothing left to do; moves to Past advisories.",
        description="reported, fixed or resolved; fixed and resolved need the fixed date",
        in_markdown=True,
    ),
    AdvisoryField(
        "description",
        "markdown",
        "Description",
        help="Markdown. Brief description of the vulnerability and its potential impact.",
        description="Markdown.",
        max_length=100_000,
        needed_to_publish="a description",
        in_markdown=True,
    ),
    AdvisoryField(
        "affected_users",
        "markdown",
        "Affected users",
        help="Confirm whether it is limited to specific products, and to US or EU "
        "customers, or both.",
        description="Who is affected, in prose.",
        max_length=20_000,
        needed_to_publish="who is affected",
        in_markdown=True,
    ),
    AdvisoryField(
        "affected_regions",
        "list",
        "Affected regions",
        help="Comma-separated, e.g. US, EU. Blank: the regions named in the prose above.",
        description="cloud regions the affected users are in, e.g. US "
        "(default: those the prose names)",
        cli=("--region",),
        metavar="REGION",
    ),
    AdvisoryField(
        "resolution",
        "markdown",
        "Resolution",
        help="Markdown. Where possible, link the pull request; be clear on any next steps.",
        description="Markdown: the fix and next steps for users.",
        max_length=50_000,
        in_markdown=True,
    ),
    *(
        AdvisoryField(
            name,
            "date",
            name.removesuffix("_at").capitalize(),
            help=help,
            cli=("--" + name.removesuffix("_at"),),
            needed_to_publish="the date it was reported" if name == "reported_at" else "",
            in_markdown=True,
        )
        for name, help in _TIMELINE_HELP.items()
    ),
    AdvisoryField(
        "confirmed_exposure",
        "bool",
        "Confirmed exposure",
        help="Customer data was confirmed exposed: publishing creates outreach to the "
        "affected customers.",
        description="data was exposed: publishing needs outreach or a waiver",
    ),
    AdvisoryField(
        "user_action_required",
        "bool",
        "User action required",
        help="Users must do something (rotate a key, upgrade): publishing creates outreach.",
        description="users must act: publishing needs outreach or a waiver",
    ),
    AdvisoryField(
        "embargo_until",
        "datetime",
        "Embargo until (UTC)",
        help="The agreed disclosure moment. Publishing earlier needs a recorded reason.",
        description="no publication before this moment without a reason",
        public=False,
    ),
)

FIELDS: dict[str, AdvisoryField] = {f.name: f for f in ADVISORY_FIELDS}


def fields_of_kind(*kinds: FieldKind) -> tuple[str, ...]:
    """The names of the declared fields of these kinds, in declaration order."""
    return tuple(f.name for f in ADVISORY_FIELDS if f.kind in kinds)


def shorthand_fields() -> tuple[str, ...]:
    """The declared fields stored on the advisory's vulnerabilities (``home``)."""
    return tuple(f.name for f in ADVISORY_FIELDS if f.home == "vulnerability")


def public_fields() -> tuple[AdvisoryField, ...]:
    """The fields the public sees: in the snapshot, the public API and the renderers."""
    return tuple(f for f in ADVISORY_FIELDS if f.public)


def markdown_page_fields() -> tuple[str, ...]:
    """The declared fields the handbook Markdown page shows (and so must load)."""
    return tuple(f.name for f in ADVISORY_FIELDS if f.in_markdown)


def column(name: str) -> models.Field[Any, Any]:
    """The model column that stores a declared field (the model is the storage)."""
    from herald.advisories.models import Advisory, Vulnerability  # they load after this

    if FIELDS[name].home == "vulnerability":
        # Each vulnerability stores its own; a list of CVE ids is one per vulnerability.
        field = Vulnerability._meta.get_field("cve_id" if name == "cve_ids" else name)
    else:
        field = Advisory._meta.get_field(name)
    assert isinstance(field, models.Field), name
    return field


def choices_of(name: str) -> list[tuple[str, str]]:
    """A choice field's (value, label) pairs, from its model column."""
    return [(str(value), str(label)) for value, label in column(name).choices or ()]
