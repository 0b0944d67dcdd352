"""Response and query schemas of the public REST API (``/api/v1/``).

They describe, field for field, the dict that ``herald.advisories.serialize``
produces, so the OpenAPI document is exact. They are also the last guard of
DESIGN.md rule 3: ``Advisory.state`` admits only ``published`` and
``withdrawn``, so a draft that reached a response would fail validation (a 500)
instead of being sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import AfterValidator, create_model

from herald.advisories.fields import (
    ADVISORY_FIELDS,
    AdvisoryField,
    choices_of,
    column,
    public_fields,
)
from herald.advisories.snapshot import SourceSnapshot, VulnerabilitySnapshot

SeverityName = Literal["low", "medium", "high", "critical"]
StatusName = Literal["reported", "fixed", "resolved"]
DeploymentName = Literal["cloud", "self_hosted", "sdk", "other"]
AffectedStatusName = Literal["affected", "fixed", "not_affected", "under_investigation"]
CreditTypeName = Literal[
    "FINDER",
    "REPORTER",
    "ANALYST",
    "COORDINATOR",
    "REMEDIATION_DEVELOPER",
    "REMEDIATION_REVIEWER",
    "REMEDIATION_VERIFIER",
    "TOOL",
    "SPONSOR",
    "OTHER",
]
ReferenceTypeName = Literal[
    "ADVISORY",
    "ARTICLE",
    "DETECTION",
    "DISCUSSION",
    "REPORT",
    "FIX",
    "INTRODUCED",
    "PACKAGE",
    "EVIDENCE",
    "WEB",
]

# The largest offset or version a request may name: far past any real table, and
# inside the 64-bit integers both databases compare with (2**63 raised OverflowError).
MAX_OFFSET = 1_000_000_000
MAX_VERSION = 2_147_483_647


def _storable(value: dt.datetime) -> dt.datetime:
    """A moment both databases hold: in UTC (naive taken as UTC), years 1 to 9999."""
    try:
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("Out of range: give a moment between the years 1 and 9999") from None


Moment = Annotated[dt.datetime, AfterValidator(_storable)]

# ECMA-262 has no inline flags, and OpenAPI patterns are ECMA-262: spell the case out.
CVE_PATTERN = r"^[Cc][Vv][Ee]-\d{4}-\d{4,19}$"


class Affected(Schema):
    product: str = Field(description="Product slug, as ?product= takes it.")
    product_name: str
    deployment: DeploymentName
    region: str = Field(description="Cloud region (US, EU, ...); empty for all.")
    introduced: str = Field(description="First affected version; empty when unknown.")
    fixed: str = Field(description="First fixed version; empty when none.")
    last_affected: str = Field(description="Last affected version, when no fix exists.")
    status: AffectedStatusName
    version_range: str = Field(description='Readable range, e.g. ">= 1.2, < 1.4".')


class Credit(Schema):
    name: str
    type: CreditTypeName = Field(description="OSV credit type.")
    contact: str


class Reference(Schema):
    url: str
    type: ReferenceTypeName = Field(description="OSV reference type; FIX links a fix.")


class Revision(Schema):
    number: int = Field(ge=1)
    kind: Literal["published", "updated", "withdrawn"]
    summary: str = Field(description="What changed, in a sentence.")
    created_at: dt.datetime


def _choice(name: str) -> Any:
    """The model column's choices as a Literal type."""
    values = tuple(value for value, _ in choices_of(name))
    return Literal.__getitem__(values)


def _response_type(field: AdvisoryField) -> Any:
    """How a declared field reads in a response (``serialize.advisory_to_dict``)."""
    return {
        "line": str,
        "markdown": str,
        "vector": str,
        "list": list[str],
        "date": dt.date | None,
        "datetime": dt.datetime | None,
        "bool": bool,
    }.get(field.kind) or _choice(field.name)


def _described(field: AdvisoryField, **kwargs: Any) -> Any:
    if field.description:
        kwargs["description"] = field.description
    return Field(**kwargs)


def _response_fields(fields: Iterable[AdvisoryField]) -> dict[str, Any]:
    return {f.name: (_response_type(f), _described(f)) for f in fields}


class _Head(Schema):
    identifier: str = Field(description="Stable identifier, e.g. HRLD-2026-0001.")
    state: Literal["published", "withdrawn"] = Field(
        description="Withdrawn advisories stay listed so that every consumer learns of it."
    )
    current: bool = Field(
        description='Published and not resolved: listed under "Current advisories".'
    )


if TYPE_CHECKING:
    _PublicFields = _Head
else:
    # The declared fields the public sees (herald.advisories.fields), in their order.
    _PublicFields = create_model(
        "_PublicFields", __base__=_Head, **_response_fields(public_fields())
    )


class Advisory(_PublicFields):
    severity: SeverityName  # never empty once public
    cvss_v3_score: float | None
    cvss_v4_score: float | None
    published_at: dt.datetime | None = Field(description="First publication.")
    updated_at: dt.datetime | None
    withdrawn_at: dt.datetime | None
    withdrawn_reason: str
    affected: list[Affected]
    credits: list[Credit]
    references: list[Reference]
    # The snapshot's own types: the record's shape is declared once, in
    # herald.advisories.snapshot.
    vulnerabilities: list[VulnerabilitySnapshot] = Field(
        description="Each vulnerability: ids, CWEs, scores, notes, and per product its "
        "status, versions, VEX justification and remediations."
    )
    sources: list[SourceSnapshot] = Field(
        description="Documents it was imported from, with the source's own dates."
    )


class AdvisoryDetail(Advisory):
    revisions: list[Revision] = Field(description="Every public revision, oldest first.")


class AdvisoryPage(Schema):
    count: int = Field(description="Advisories matching the filters, over all pages.")
    next: str | None = Field(description="URL of the next page; null on the last.")
    previous: str | None = Field(description="URL of the previous page; null on the first.")
    results: list[Advisory]


class Product(Schema):
    slug: str
    name: str
    description: str
    ecosystem: str = Field(description="Package ecosystem (PyPI, npm, ...), if any.")
    package_name: str
    repository_url: str


class ProductList(Schema):
    count: int
    results: list[Product]


class ParameterError(Schema):
    parameter: str
    message: str


class Error(Schema):
    """Every error response: a sentence, and for 422 the parameters at fault."""

    detail: str
    errors: list[ParameterError] = Field(default_factory=list)


class AdvisoryFilters(Schema):
    """Query parameters of ``GET /advisories``."""

    status: StatusName | None = Field(None, description="reported, fixed or resolved.")
    severity: SeverityName | None = None
    cve: str | None = Field(None, pattern=CVE_PATTERN, description="Advisories naming this CVE.")
    product: str | None = Field(None, max_length=100, description="Product slug (see /products).")
    state: Literal["current", "past"] | None = Field(
        None, description="current: published, not resolved; past: resolved or withdrawn."
    )
    updated_since: Moment | None = Field(
        None, description="ISO 8601; changed at or after this moment (UTC without an offset)."
    )
    limit: int = Field(20, ge=1, le=100, description="Page size, 1 to 100.")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Advisories to skip.")


# ---------------------------------------------------------------- the desk API (tokens)

MAX_SHORT = 300
MAX_LONG = 20_000


if TYPE_CHECKING:
    _DeskFields = Advisory
else:
    # The declared fields only the desk sees (the embargo).
    _DeskFields = create_model(
        "_DeskFields",
        __base__=Advisory,
        **_response_fields(f for f in ADVISORY_FIELDS if not f.public),
    )


class DeskAdvisory(_DeskFields):
    """An advisory as the desk sees it: drafts too, with the incident and the version."""

    state: Literal["draft", "published", "withdrawn"]  # type: ignore[assignment]
    severity: SeverityName | Literal[""] = Field(  # type: ignore[assignment]
        description="Empty while a draft has none yet."
    )
    incident: str = Field(description="The incident's identifier.")
    version: int = Field(description="Give it back as expected_version when changing it.")
    scheduled_publish_at: dt.datetime | None


class DeskAdvisoryDetail(DeskAdvisory):
    revisions: list[Revision]


class DeskPage(Schema):
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class DeskAdvisoryPage(Schema):
    count: int
    results: list[DeskAdvisory]


class AffectedIn(Schema):
    product: str = Field(max_length=100, description="Product slug or name.")
    deployment: DeploymentName = "cloud"
    region: str = Field("", max_length=20)
    introduced: str = Field("", max_length=100)
    fixed: str = Field("", max_length=100)
    last_affected: str = Field("", max_length=100)
    status: AffectedStatusName = "affected"


class CreditIn(Schema):
    name: str = Field(max_length=200)
    type: CreditTypeName = "FINDER"
    contact: str = Field("", max_length=300)


class ReferenceIn(Schema):
    url: str = Field(max_length=2000)
    type: ReferenceTypeName = "WEB"


# The most items a list field takes (ids, regions).
MAX_ITEMS = 50


def _input_type(field: AdvisoryField) -> tuple[Any, Any]:
    """How a declared field is given in a request; left out, it keeps its value."""
    if field.kind in ("line", "markdown", "vector"):
        limit = field.max_length or column(field.name).max_length
        return str | None, _described(field, default=None, max_length=limit)
    if field.kind == "list":
        return list[str] | None, _described(field, default=None, max_length=MAX_ITEMS)
    kind_type = {
        "date": dt.date,
        "datetime": Moment,
        "bool": bool,
    }.get(field.kind) or _choice(field.name)
    return kind_type | None, _described(field, default=None)


class _Incident(Schema):
    incident: str | None = Field(
        None, max_length=40, description="Identifier of an open incident (INC-2026-0001)."
    )


if TYPE_CHECKING:
    _InputFields = _Incident
else:
    # Every declared field (herald.advisories.fields), each optional.
    _InputFields = create_model(
        "_InputFields",
        __base__=_Incident,
        **{f.name: _input_type(f) for f in ADVISORY_FIELDS},
    )


class AdvisoryFields(_InputFields):
    """Fields of an advisory; those left out keep their value (or the default on create)."""

    affected: list[AffectedIn] | None = Field(None, max_length=200)
    credits: list[CreditIn] | None = Field(None, max_length=100)
    references: list[ReferenceIn] | None = Field(None, max_length=200)


class AdvisoryCreate(AdvisoryFields):
    title: str = Field(min_length=1, max_length=MAX_SHORT)


class AdvisoryUpdate(AdvisoryFields):
    expected_version: int = Field(
        ge=1,
        le=MAX_VERSION,
        description="The version you read; a change made since is refused (409).",
    )
    change_summary: str = Field(
        "", max_length=MAX_SHORT, description="Required once published: what changed."
    )


JustificationName = Literal[
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
]
RemediationCategoryName = Literal[
    "vendor_fix",
    "workaround",
    "mitigation",
    "no_fix_planned",
    "none_available",
    "fix_planned",
    "optional_patch",
]


class RemediationIn(Schema):
    category: RemediationCategoryName
    details: str = Field("", max_length=5000)
    url: str = Field("", max_length=1000)
    version: str = Field("", max_length=100)


class VulnerabilityRowIn(Schema):
    """A product row of one vulnerability: what it does to that product."""

    id: int | None = Field(
        None, ge=1, le=MAX_VERSION, description="A row it has, to keep what it says beyond these."
    )
    product: str = Field(max_length=100, description="Product slug or name.")
    deployment: DeploymentName = "cloud"
    region: str = Field("", max_length=20)
    version: str = Field("", max_length=200)
    introduced: str = Field("", max_length=100)
    fixed: str = Field("", max_length=100)
    last_affected: str = Field("", max_length=100)
    status: AffectedStatusName = "affected"
    justification: JustificationName | Literal[""] = Field(
        "", description="VEX: why a product is not affected (or give impact_statement)."
    )
    impact_statement: str = Field("", max_length=5000)
    remediations: list[RemediationIn] = Field(default_factory=list, max_length=20)


class NoteIn(Schema):
    """A text about one vulnerability (CSAF's and CVE's notes)."""

    category: str = Field(
        "description",
        max_length=40,
        description="description, summary, details, general, faq, other, workaround, "
        "exploit, solution or configuration.",
    )
    title: str = Field("", max_length=500)
    lang: str = Field("", max_length=35, description="BCP 47 tag (de, pt-BR); empty: English.")
    text: str = Field(max_length=100_000, description="Markdown.")


class VulnIdIn(Schema):
    id: str = Field(max_length=200)
    role: Literal["alias", "upstream", "related"] = "alias"


class VulnerabilityIn(Schema):
    """One vulnerability; fields left out keep their value. ``rows``, when given,
    replace its own product rows (rows that hold for every vulnerability stay)."""

    expected_version: int = Field(
        ge=1,
        le=MAX_VERSION,
        description="The version you read; a change made since is refused (409).",
    )
    change_summary: str = Field(
        "", max_length=MAX_SHORT, description="Required once published: what changed."
    )
    cve_id: str | None = Field(None, max_length=32)
    title: str | None = Field(None, max_length=500)
    ids: list[VulnIdIn] | None = Field(None, max_length=MAX_ITEMS)
    cwe_ids: list[str] | None = Field(None, max_length=MAX_ITEMS)
    cvss_v3_vector: str | None = Field(None, max_length=200)
    cvss_v4_vector: str | None = Field(None, max_length=400)
    rows: list[VulnerabilityRowIn] | None = Field(None, max_length=200)
    notes: list[NoteIn] | None = Field(None, max_length=MAX_ITEMS, description="Replace its notes.")
    references: list[ReferenceIn] | None = Field(
        None, max_length=200, description="Replace its own references (not the advisory's)."
    )


class VulnerabilityRemoveIn(Schema):
    expected_version: int = Field(ge=1, le=MAX_VERSION)
    change_summary: str = Field("", max_length=MAX_SHORT)


class PublishIn(Schema):
    expected_version: int = Field(ge=1, le=MAX_VERSION)
    lift_embargo_reason: str = Field("", max_length=MAX_LONG)
    outreach_waiver_reason: str = Field("", max_length=MAX_LONG)


class WhoAmI(Schema):
    username: str
    role: str
    scopes: list[str]
    token: str = Field(description="The token's prefix, which names it in lists.")
    expires_at: dt.datetime
