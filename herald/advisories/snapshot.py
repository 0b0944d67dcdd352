"""A frozen, database-free view of one advisory: what every renderer takes in.

Renderers (Markdown, HTML, feeds, OSV, CSAF, CVE) are pure functions of an
``AdvisorySnapshot``; revisions store ``to_dict()`` of the snapshot they publish.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from herald.advisories.fields import AdvisoryField, fields_of_kind, public_fields

if TYPE_CHECKING:
    from herald.advisories.models import Advisory


@dataclass(frozen=True)
class VersionRange:
    """A range of versions in the product's own scheme, as OSV writes it.

    ``type`` is OSV's (``SEMVER``, ``ECOSYSTEM``, ``GIT``) or, for ranges from CVE records
    and CSAF, the source's version type (``semver``, ``git``, ``rpm``, ``custom`` ...).
    ``events`` are ``{"introduced": v}``, ``{"fixed": v}``, ``{"last_affected": v}`` and
    ``{"limit": v}`` in order; ``vers`` is the range as a ``vers:`` string when the source
    wrote one. ``database_specific`` is kept as the source gave it."""

    type: str
    events: tuple[dict[str, str], ...] = ()
    repo: str = ""
    vers: str = ""
    database_specific: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Remediation:
    """What a customer of one product can do: CSAF's remediation categories.

    ``vendor_fix`` (with the fixed version or a URL), ``workaround``, ``mitigation``,
    ``no_fix_planned``, ``none_available`` (and CSAF's ``fix_planned``, ``optional_patch``)."""

    category: str
    details: str = ""
    url: str = ""
    version: str = ""
    date: str = ""
    # Format fields Herald does not model, as the source gave them (CSAF
    # ``restart_required``, ``entitlements``).
    extra: dict[str, Any] = field(default_factory=dict)


REMEDIATION_CATEGORIES = (
    "vendor_fix",
    "workaround",
    "mitigation",
    "no_fix_planned",
    "none_available",
    "fix_planned",
    "optional_patch",
)

# The product statuses a vulnerability can have per product version, and the VEX
# justifications of "not affected" (CSAF flags and OpenVEX use the same five words).
PRODUCT_STATUSES = ("affected", "fixed", "not_affected", "under_investigation")
VEX_JUSTIFICATIONS = (
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
)


@dataclass(frozen=True)
class AffectedSnapshot:
    """One product (line or version) and what one vulnerability does to it.

    The product tree is vendor > product > version > platform; ``purl`` and ``cpe``
    identify it. The simple range (``introduced``/``fixed``/``last_affected``) is what the
    editor writes; ``ranges`` and ``versions`` hold what documents say beyond one range
    (several ranges, git commits, ecosystem versions, explicit version lists) and win
    when present. ``extra`` keeps format fields Herald does not model, as the source gave
    them (OSV ``ecosystem_specific``/``database_specific``, a CVE entry's ``modules``,
    ``platforms``, ``cpes``, ``defaultStatus``...)."""

    product: str
    product_slug: str
    deployment: str
    region: str = ""
    introduced: str = ""
    fixed: str = ""
    last_affected: str = ""
    status: str = "affected"
    ecosystem: str = ""
    package_name: str = ""
    repository_url: str = ""
    vendor: str = ""
    version: str = ""
    platform: str = ""
    purl: str = ""
    cpe: str = ""
    ranges: tuple[VersionRange, ...] = ()
    versions: tuple[str, ...] = ()
    default_status: str = ""
    justification: str = ""
    impact_statement: str = ""
    remediations: tuple[Remediation, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def version_range(self) -> str:
        parts = []
        if self.introduced:
            parts.append(f">= {self.introduced}")
        if self.fixed:
            parts.append(f"< {self.fixed}")
        elif self.last_affected:
            parts.append(f"<= {self.last_affected}")
        if parts:
            return ", ".join(parts)
        if self.version:
            return self.version
        if self.versions:
            return ", ".join(self.versions)
        if self.ranges:
            return "; ".join(_range_words(r) for r in self.ranges)
        return "all versions"

    @property
    def has_versions(self) -> bool:
        return bool(
            self.introduced
            or self.fixed
            or self.last_affected
            or self.version
            or self.versions
            or self.ranges
        )

    def all_ranges(self) -> tuple[VersionRange, ...]:
        """The row's ranges: those the source gave, else its simple range as one."""
        if self.ranges:
            return self.ranges
        events: list[dict[str, str]] = []
        if self.introduced or self.fixed or self.last_affected:
            events.append({"introduced": self.introduced or "0"})
        if self.fixed:
            events.append({"fixed": self.fixed})
        elif self.last_affected:
            events.append({"last_affected": self.last_affected})
        return (VersionRange(type="", events=tuple(events)),) if events else ()


def _range_words(r: VersionRange) -> str:
    if r.vers:
        return r.vers
    words = []
    for event in r.events:
        for kind, value in event.items():
            words.append(
                {"introduced": ">=", "fixed": "<", "last_affected": "<=", "limit": "limit"}.get(
                    kind, kind
                )
                + " "
                + value
            )
    return ", ".join(words)


def row_regions(row_region: str, advisory_regions: Sequence[str]) -> list[str]:
    """The regions a product row covers: its own, else the advisory's (every region when
    neither names one). The one rule for the public page and the outreach selection."""
    return [row_region] if row_region else list(advisory_regions)


class ProductRow(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def has_versions(self) -> bool: ...


def row_status_now(row: ProductRow, advisory_status: str) -> str:
    """The status a product row has now: a row without versions (a service, fixed in
    place) is fixed once the advisory is fixed or resolved, though it was entered as
    affected; a row with versions keeps its status, its range saying which are hit.
    The one rule for the public page, CSAF and the desk (stored rows or snapshots)."""
    if (
        row.status == "affected"
        and not row.has_versions
        and advisory_status in ("fixed", "resolved")
    ):
        return "fixed"
    return row.status


@dataclass(frozen=True)
class CreditSnapshot:
    name: str
    type: str = "FINDER"
    contact: str = ""
    # The credit's language when a source gave one (CVE credits carry a ``lang``).
    lang: str = ""


@dataclass(frozen=True)
class ReferenceSnapshot:
    url: str
    type: str = "WEB"
    # What a source said of the link beyond its type: CVE's ``name`` and ``tags``
    # (``patch``, ``vendor-advisory``, ``x_refsource_MISC`` ...), as given.
    name: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class RevisionEntry:
    number: int
    kind: str
    summary: str
    created_at: dt.datetime


@dataclass(frozen=True)
class VulnId:
    """Another id a vulnerability is known by, and how it relates to this record.

    ``alias``: the same vulnerability in another database (GHSA, a vendor's id);
    ``upstream``: the record this one derives from (OSV ``upstream``; an imported
    document's own id); ``related``: a different but related vulnerability."""

    id: str
    role: str = "alias"


@dataclass(frozen=True)
class Score:
    """A score as its source gave it, kept beside Herald's computed CVSS 3.1 and 4.0.

    ``type`` is the scheme and version (``CVSS_V2``, ``CVSS_V3.0``, ``CVSS_V3.1``,
    ``CVSS_V4.0``, ``SSVC``, or a source's own name such as ``Ubuntu``); ``source`` says
    who scored it (empty: the advisory's author); ``products`` narrows it to some of the
    vulnerability's products (their ``product_slug`` plus version, ``slug@version``)."""

    type: str
    vector: str = ""
    base_score: Decimal | None = None
    severity: str = ""
    source: str = ""
    products: tuple[str, ...] = ()
    content: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Note:
    """A text about one vulnerability: ``category`` is CSAF's (``description``,
    ``summary``, ``details``, ``general``, ``faq``, ``legal_disclaimer``, ``other``) or
    CVE's extra texts (``workaround``, ``exploit``, ``solution``, ``configuration``).
    ``lang`` is a BCP 47 tag ("" means the advisory's language, English)."""

    category: str
    text: str
    title: str = ""
    lang: str = ""
    audience: str = ""
    # Rich forms of the text as the source gave them (CVE ``supportingMedia``:
    # ``{"type", "base64", "value"}`` each).
    media: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class ThirdParty:
    """Data another organisation added to a record (a CVE ADP container: CISA's
    vulnrichment, the CVE Program's references), kept as theirs and re-published as
    theirs, never merged into the vendor's own statements."""

    source: str  # the provider's short name, e.g. "CISA-ADP"
    kind: str = "adp"
    title: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VulnerabilitySnapshot:
    """One vulnerability of an advisory: its ids, weaknesses, scores, texts, and per
    product what it does and what to do about it."""

    cve_id: str = ""
    ids: tuple[VulnId, ...] = ()
    title: str = ""
    cwe_ids: tuple[str, ...] = ()
    cvss_v3_vector: str = ""
    cvss_v3_score: Decimal | None = None
    cvss_v4_vector: str = ""
    cvss_v4_score: Decimal | None = None
    scores: tuple[Score, ...] = ()
    notes: tuple[Note, ...] = ()
    affected: tuple[AffectedSnapshot, ...] = ()
    references: tuple[ReferenceSnapshot, ...] = ()
    discovered_at: dt.date | None = None
    released_at: dt.datetime | None = None
    third_party: tuple[ThirdParty, ...] = ()
    # Format fields Herald does not model, as the source gave them (CSAF threats,
    # flags, involvements; CVE ``x_`` fields; OSV ``database_specific``), by format.
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def aliases(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.ids if i.role == "alias")

    @property
    def upstream(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.ids if i.role == "upstream")

    @property
    def related(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.ids if i.role == "related")

    @property
    def best_score(self) -> Decimal | None:
        """The score that ranks it: CVSS 4.0 first, then 3.1."""
        return self.cvss_v4_score if self.cvss_v4_score is not None else self.cvss_v3_score


@dataclass(frozen=True)
class SourceSnapshot:
    """A document an advisory was imported from, with the source's own moments.

    Herald's publication moment is its own; the source's ``published``, ``modified``
    and ``withdrawn`` are kept as the source's, and an imported CSAF document's
    revision history (``{"number", "date", "summary"}`` each) continues in Herald's."""

    kind: str  # osv | cve | csaf | markdown
    id: str
    url: str = ""
    publisher: str = ""
    published: dt.datetime | None = None
    modified: dt.datetime | None = None
    withdrawn: dt.datetime | None = None
    revision_history: tuple[dict[str, str], ...] = ()
    schema_version: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def simple_vulnerabilities(
    *,
    cve_ids: Sequence[str] = (),
    cwe_ids: Sequence[str] = (),
    cvss_v3_vector: str = "",
    cvss_v3_score: Decimal | None = None,
    cvss_v4_vector: str = "",
    cvss_v4_score: Decimal | None = None,
    affected: Sequence[AffectedSnapshot] = (),
) -> tuple[VulnerabilitySnapshot, ...]:
    """The editor's one-form shorthand as vulnerabilities: one per CVE id (one without a
    CVE when none is given), each with the weaknesses, scores and products given.

    The one rule for the desk form, the API's and CLI's flat fields, the Markdown
    importer and the migration of advisories written before vulnerabilities existed."""
    return tuple(
        VulnerabilitySnapshot(
            cve_id=cve,
            cwe_ids=tuple(cwe_ids),
            cvss_v3_vector=cvss_v3_vector,
            cvss_v3_score=cvss_v3_score,
            cvss_v4_vector=cvss_v4_vector,
            cvss_v4_score=cvss_v4_score,
            affected=tuple(affected),
        )
        for cve in cve_ids or ("",)
    )


SHORTHAND = (
    "cve_ids",
    "cwe_ids",
    "cvss_v3_vector",
    "cvss_v3_score",
    "cvss_v4_vector",
    "cvss_v4_score",
    "affected",
)


def with_changes(snapshot: AdvisorySnapshot, **changes: Any) -> AdvisorySnapshot:
    """``dataclasses.replace`` that also takes the one-form shorthand (``cve_ids``,
    ``cwe_ids``, ``cvss_*``, ``affected``): the vulnerabilities are made again from the
    first one's values with the changes laid over (``simple_vulnerabilities``)."""
    flat = {k: changes.pop(k) for k in SHORTHAND if k in changes}
    if flat:
        first = snapshot.headline
        values = {k: getattr(snapshot, k) for k in SHORTHAND} | {
            "cwe_ids": first.cwe_ids,
            "affected": first.affected,
        }
        changes["vulnerabilities"] = simple_vulnerabilities(**(values | flat))
    return replace(snapshot, **changes)


@dataclass(frozen=True)
class AdvisorySnapshot:
    identifier: str
    title: str
    state: str
    status: str
    severity: str
    summary: str = ""
    description: str = ""
    affected_users: str = ""
    affected_regions: tuple[str, ...] = ()
    resolution: str = ""
    discovered_at: dt.date | None = None
    reported_at: dt.date | None = None
    fixed_at: dt.date | None = None
    disclosed_at: dt.date | None = None
    confirmed_exposure: bool = False
    user_action_required: bool = False
    incident: str = ""
    published_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    withdrawn_at: dt.datetime | None = None
    withdrawn_reason: str = ""
    vulnerabilities: tuple[VulnerabilitySnapshot, ...] = ()
    credits: tuple[CreditSnapshot, ...] = ()
    references: tuple[ReferenceSnapshot, ...] = ()
    sources: tuple[SourceSnapshot, ...] = ()
    # Filled from the database for renderers; never stored inside a revision.
    revisions: tuple[RevisionEntry, ...] = field(default=(), compare=False)

    @property
    def is_current(self) -> bool:
        return self.state == "published" and self.status != "resolved"

    @property
    def is_withdrawn(self) -> bool:
        return self.state == "withdrawn"

    def regions_of(self, row: AffectedSnapshot) -> str:
        """The row's regions as the page shows them; "All" when nothing narrows them."""
        return ", ".join(row_regions(row.region, self.affected_regions)) or "All"

    def status_of(self, row: AffectedSnapshot) -> str:
        """The status a product row has now (``row_status_now``)."""
        return row_status_now(row, self.status)

    @property
    def date(self) -> dt.date | None:
        """The page's "Date": first publication."""
        return self.published_at.date() if self.published_at else None

    @property
    def products(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a.product for a in self.affected))

    # What the seed page's template shows once per advisory, derived from the
    # vulnerabilities (their only home): the CVE(s), the weaknesses, the headline scores
    # (the highest-ranked vulnerability's) and the product rows.

    @property
    def cve_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.cve_id for v in self.vulnerabilities if v.cve_id))

    @property
    def cwe_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for v in self.vulnerabilities for c in v.cwe_ids))

    @property
    def headline(self) -> VulnerabilitySnapshot:
        """The vulnerability that sets the advisory's scores: the highest CVSS 4.0 score,
        else 3.1, the first on a tie (an empty one when there is none)."""
        if not self.vulnerabilities:
            return VulnerabilitySnapshot()
        return max(
            self.vulnerabilities,
            key=lambda v: (
                v.cvss_v4_score if v.cvss_v4_score is not None else Decimal(-1),
                v.cvss_v3_score if v.cvss_v3_score is not None else Decimal(-1),
            ),
        )

    @property
    def cvss_v3_vector(self) -> str:
        return self.headline.cvss_v3_vector

    @property
    def cvss_v3_score(self) -> Decimal | None:
        return self.headline.cvss_v3_score

    @property
    def cvss_v4_vector(self) -> str:
        return self.headline.cvss_v4_vector

    @property
    def cvss_v4_score(self) -> Decimal | None:
        return self.headline.cvss_v4_score

    @cached_property
    def affected(self) -> tuple[AffectedSnapshot, ...]:
        """Every product row of every vulnerability, each distinct row once, in order.

        Kept on the (frozen) snapshot once computed: the feeds, pages and documents
        ask for it several times per advisory, and each time serialised every row."""
        rows: dict[str, AffectedSnapshot] = {}
        for v in self.vulnerabilities:
            for row in v.affected:
                rows.setdefault(_row_key(row), row)
        return tuple(rows.values())

    @property
    def is_simple(self) -> bool:
        """Whether the one-form editor can show it: every vulnerability shares the same
        weaknesses, scores and product rows, and says nothing the form does not show."""
        first = self.vulnerabilities[0] if self.vulnerabilities else VulnerabilitySnapshot()
        return all(
            v
            == VulnerabilitySnapshot(
                cve_id=v.cve_id,
                cwe_ids=first.cwe_ids,
                cvss_v3_vector=first.cvss_v3_vector,
                cvss_v3_score=first.cvss_v3_score,
                cvss_v4_vector=first.cvss_v4_vector,
                cvss_v4_score=first.cvss_v4_score,
                affected=first.affected,
            )
            for v in self.vulnerabilities
        )

    @classmethod
    def build(cls, **values: Any) -> AdvisorySnapshot:
        """A snapshot from fields that may include the one-form shorthand (``cve_ids``,
        ``cwe_ids``, ``cvss_*``, ``affected``; ``simple_vulnerabilities`` of them)."""
        flat = {k: values.pop(k) for k in SHORTHAND if k in values}
        if flat:
            values["vulnerabilities"] = simple_vulnerabilities(**flat)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (dates ISO 8601), without the revision history."""
        data = asdict(self)
        data.pop("revisions")
        return _jsonable(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AdvisorySnapshot:
        """The snapshot a revision stored. Revisions stored before vulnerabilities
        existed hold the flat shape (``cve_ids``, ``cwe_ids``, ``cvss_*``, ``affected``
        at the top); it reads as ``simple_vulnerabilities`` of it, as the migration did."""
        values = _parse(cls, data)
        if "vulnerabilities" not in data:
            values["vulnerabilities"] = simple_vulnerabilities(
                cve_ids=tuple(data.get("cve_ids") or ()),
                cwe_ids=tuple(data.get("cwe_ids") or ()),
                cvss_v3_vector=data.get("cvss_v3_vector") or "",
                cvss_v3_score=_decimal(data.get("cvss_v3_score")),
                cvss_v4_vector=data.get("cvss_v4_vector") or "",
                cvss_v4_score=_decimal(data.get("cvss_v4_score")),
                affected=tuple(
                    _parse_one(AffectedSnapshot, row) for row in data.get("affected") or ()
                ),
            )
        return cls(**values)


def _row_key(row: AffectedSnapshot) -> str:
    # Rows hold dicts (``extra``), so they do not hash; their JSON form is the key.
    return json.dumps(_jsonable(asdict(row)), sort_keys=True)


_DATE_FIELDS = {*fields_of_kind("date"), "discovered_at"}
_DATETIME_FIELDS = {
    *fields_of_kind("datetime"),
    "published_at",
    "updated_at",
    "withdrawn_at",
    "released_at",
    "published",
    "modified",
    "withdrawn",
    "created_at",
}
_DECIMAL_FIELDS = {"cvss_v3_score", "cvss_v4_score", "base_score"}
_NESTED: dict[str, type] = {}  # filled below: field name -> dataclass of its items


def _decimal(raw: Any) -> Decimal | None:
    return None if raw is None or raw == "" else Decimal(str(raw))


def _parse(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in data or f.name == "revisions":
            continue
        values[f.name] = _parse_field(f.name, data[f.name])
    return values


def _parse_one(cls: type, data: dict[str, Any]) -> Any:
    return cls(**_parse(cls, data))


def _parse_field(name: str, raw: Any) -> Any:
    if raw is None:
        return None
    if name in _DATE_FIELDS and isinstance(raw, str):
        return dt.date.fromisoformat(raw[:10])
    if name in _DATETIME_FIELDS and isinstance(raw, str):
        return dt.datetime.fromisoformat(raw)
    if name in _DECIMAL_FIELDS:
        return _decimal(raw)
    if name in _NESTED:
        return tuple(_parse_one(_NESTED[name], item) for item in raw)
    if name in ("extra", "data", "content", "database_specific"):
        return raw
    if name in ("events", "revision_history"):
        return tuple(raw)
    if isinstance(raw, list):
        return tuple(raw)
    return raw


_NESTED.update(
    {
        "vulnerabilities": VulnerabilitySnapshot,
        "affected": AffectedSnapshot,
        "credits": CreditSnapshot,
        "references": ReferenceSnapshot,
        "sources": SourceSnapshot,
        "ids": VulnId,
        "scores": Score,
        "notes": Note,
        "third_party": ThirdParty,
        "ranges": VersionRange,
        "remediations": Remediation,
    }
)


def snapshot_json(value: Any) -> Any:
    """A snapshot value (or part) as JSON holds it: dates ISO 8601, decimals as text."""
    return _jsonable(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _affected_rows(advisory: Advisory) -> Iterable[Any]:
    """Use rows a list query prefetched (``affected__product``); fetch them otherwise."""
    if "affected" in getattr(advisory, "_prefetched_objects_cache", {}):
        return advisory.affected.all()
    return advisory.affected.select_related("product").all()


def _snapshot_value(field: AdvisoryField, value: Any) -> Any:
    """A model value as the frozen snapshot holds it (lists become tuples)."""
    if field.kind == "list":
        return tuple(value or ())
    return value


def declared_values(advisory: Advisory) -> dict[str, Any]:
    """Every declared field the public sees that the advisory itself stores, as
    ``advisory`` holds it now (saved or not: the editor's preview passes the advisory
    the action's cleaning built). The vulnerability fields are ``vulnerabilities_of``."""
    return {
        f.name: _snapshot_value(f, getattr(advisory, f.name))
        for f in public_fields()
        if f.home == "advisory"
    }


def affected_snapshot(row: Any) -> AffectedSnapshot:
    """A stored product row (``Affected``) as the snapshot holds it."""
    product = row.product
    return AffectedSnapshot(
        product=product.name,
        product_slug=product.slug,
        deployment=row.deployment,
        region=row.region,
        introduced=row.introduced,
        fixed=row.fixed,
        last_affected=row.last_affected,
        status=row.status,
        ecosystem=row.ecosystem or product.ecosystem,
        package_name=row.package_name or product.package_name,
        repository_url=row.repository_url or product.repository_url,
        vendor=product.vendor,
        version=row.version,
        platform=row.platform,
        purl=row.purl or product.purl,
        cpe=row.cpe or product.cpe,
        ranges=_parse_field("ranges", row.ranges or []),
        versions=tuple(row.versions or ()),
        default_status=row.default_status,
        justification=row.justification,
        impact_statement=row.impact_statement,
        remediations=_parse_field("remediations", row.remediations or []),
        extra=row.extra or {},
    )


def vulnerability_snapshot(
    vulnerability: Any, rows: Iterable[AffectedSnapshot]
) -> VulnerabilitySnapshot:
    """A stored ``Vulnerability`` with its product rows as the snapshot holds it."""
    v = vulnerability
    return VulnerabilitySnapshot(
        cve_id=v.cve_id,
        ids=_parse_field("ids", v.ids or []),
        title=v.title,
        cwe_ids=tuple(v.cwe_ids or ()),
        cvss_v3_vector=v.cvss_v3_vector,
        cvss_v3_score=v.cvss_v3_score,
        cvss_v4_vector=v.cvss_v4_vector,
        cvss_v4_score=v.cvss_v4_score,
        scores=_parse_field("scores", v.scores or []),
        notes=_parse_field("notes", v.notes or []),
        affected=tuple(rows),
        references=_parse_field("references", v.references or []),
        discovered_at=v.discovered_at,
        released_at=v.released_at,
        third_party=_parse_field("third_party", v.third_party or []),
        extra=v.extra or {},
    )


def vulnerabilities_of(
    advisory: Advisory, affected: Iterable[AffectedSnapshot] | None = None
) -> tuple[VulnerabilitySnapshot, ...]:
    """The advisory's vulnerabilities as it holds them now, saved or not.

    A row without a vulnerability holds for each of them. ``affected`` (the preview's
    rows, not saved) replaces the stored rows; values set through the one-form shorthand
    and not yet saved (``Advisory.pending_shorthand``) make ``simple_vulnerabilities``."""
    stored = advisory.stored_vulnerabilities()
    rows = list(_affected_rows(advisory)) if advisory.pk else []
    common = (
        tuple(affected)
        if affected is not None
        else tuple(affected_snapshot(r) for r in rows if r.vulnerability_id is None)
    )
    if advisory.pending_shorthand or (not stored and not sources_of(advisory)):
        # (An imported informational document has no vulnerability, and says so.)
        return simple_vulnerabilities(
            cve_ids=tuple(advisory.cve_ids or ()),
            cwe_ids=tuple(advisory.cwe_ids or ()),
            cvss_v3_vector=advisory.cvss_v3_vector,
            cvss_v3_score=advisory.cvss_v3_score,
            cvss_v4_vector=advisory.cvss_v4_vector,
            cvss_v4_score=advisory.cvss_v4_score,
            affected=common,
        )
    own: dict[int, list[AffectedSnapshot]] = {}
    for r in rows:
        if r.vulnerability_id is not None:
            own.setdefault(r.vulnerability_id, []).append(affected_snapshot(r))
    return tuple(vulnerability_snapshot(v, (*own.get(v.pk, ()), *common)) for v in stored)


def sources_of(advisory: Advisory) -> tuple[SourceSnapshot, ...]:
    if not advisory.pk:
        return ()
    cache = getattr(advisory, "_prefetched_objects_cache", {})
    stored = cache["sources"] if "sources" in cache else advisory.sources.all()
    return tuple(
        SourceSnapshot(
            kind=s.kind,
            id=s.source_id,
            url=s.url,
            publisher=s.publisher,
            published=s.published,
            modified=s.modified,
            withdrawn=s.withdrawn,
            revision_history=tuple(s.revision_history or ()),
            schema_version=s.schema_version,
            extra=s.extra or {},
        )
        for s in stored
    )


def snapshot_of(advisory: Advisory, *, with_history: bool = True) -> AdvisorySnapshot:
    """The advisory as it is now in the database."""
    history: tuple[RevisionEntry, ...] = ()
    if with_history and advisory.pk:
        history = tuple(
            RevisionEntry(r.number, r.kind, r.summary, r.created_at)
            for r in advisory.revisions.order_by("number")
        )
    return AdvisorySnapshot(
        identifier=advisory.identifier,
        state=advisory.state,
        **declared_values(advisory),
        incident=advisory.incident.identifier,
        published_at=advisory.published_at,
        updated_at=advisory.updated_at,
        withdrawn_at=advisory.withdrawn_at,
        withdrawn_reason=advisory.withdrawn_reason,
        vulnerabilities=vulnerabilities_of(advisory),
        sources=sources_of(advisory),
        credits=tuple(
            CreditSnapshot(name=c.name, type=c.type, contact=c.contact)
            for c in advisory.credits.all()
        ),
        references=tuple(
            ReferenceSnapshot(url=r.url, type=r.type) for r in advisory.references.all()
        ),
        revisions=history,
    )
