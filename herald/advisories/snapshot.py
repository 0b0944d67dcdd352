"""A frozen, database-free view of one advisory: what every renderer takes in.

Renderers (Markdown, HTML, feeds, OSV, CSAF, CVE) are pure functions of an
``AdvisorySnapshot``; revisions store ``to_dict()`` of the snapshot they publish.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from herald.advisories.fields import AdvisoryField, fields_of_kind, public_fields

if TYPE_CHECKING:
    from herald.advisories.models import Advisory


@dataclass(frozen=True)
class AffectedSnapshot:
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

    @property
    def version_range(self) -> str:
        parts = []
        if self.introduced:
            parts.append(f">= {self.introduced}")
        if self.fixed:
            parts.append(f"< {self.fixed}")
        elif self.last_affected:
            parts.append(f"<= {self.last_affected}")
        return ", ".join(parts) or "all versions"


def row_regions(row_region: str, advisory_regions: Sequence[str]) -> list[str]:
    """The regions a product row covers: its own, else the advisory's (every region when
    neither names one). The one rule for the public page and the outreach selection."""
    return [row_region] if row_region else list(advisory_regions)


class ProductRow(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def introduced(self) -> str: ...
    @property
    def fixed(self) -> str: ...
    @property
    def last_affected(self) -> str: ...


def row_status_now(row: ProductRow, advisory_status: str) -> str:
    """The status a product row has now: a row without versions (a service, fixed in
    place) is fixed once the advisory is fixed or resolved, though it was entered as
    affected; a row with versions keeps its status, its range saying which are hit.
    The one rule for the public page, CSAF and the desk (stored rows or snapshots)."""
    has_range = bool(row.introduced or row.fixed or row.last_affected)
    if row.status == "affected" and not has_range and advisory_status in ("fixed", "resolved"):
        return "fixed"
    return row.status


@dataclass(frozen=True)
class CreditSnapshot:
    name: str
    type: str = "FINDER"
    contact: str = ""


@dataclass(frozen=True)
class ReferenceSnapshot:
    url: str
    type: str = "WEB"


@dataclass(frozen=True)
class RevisionEntry:
    number: int
    kind: str
    summary: str
    created_at: dt.datetime


@dataclass(frozen=True)
class AdvisorySnapshot:
    identifier: str
    title: str
    state: str
    status: str
    severity: str
    summary: str = ""
    description: str = ""
    cve_ids: tuple[str, ...] = ()
    cwe_ids: tuple[str, ...] = ()
    cvss_v3_vector: str = ""
    cvss_v3_score: Decimal | None = None
    cvss_v4_vector: str = ""
    cvss_v4_score: Decimal | None = None
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
    affected: tuple[AffectedSnapshot, ...] = ()
    credits: tuple[CreditSnapshot, ...] = ()
    references: tuple[ReferenceSnapshot, ...] = ()
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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (dates ISO 8601), without the revision history."""
        data = asdict(self)
        data.pop("revisions")
        return _jsonable(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AdvisorySnapshot:
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            raw = data[f.name]
            values[f.name] = _parse_field(f.name, raw)
        return cls(**values)


_DATE_FIELDS = set(fields_of_kind("date"))
_DATETIME_FIELDS = {*fields_of_kind("datetime"), "published_at", "updated_at", "withdrawn_at"}
_DECIMAL_FIELDS = {"cvss_v3_score", "cvss_v4_score"}


def _parse_field(name: str, raw: Any) -> Any:
    if raw is None:
        return None
    if name in _DATE_FIELDS:
        return dt.date.fromisoformat(raw)
    if name in _DATETIME_FIELDS:
        return dt.datetime.fromisoformat(raw)
    if name in _DECIMAL_FIELDS:
        return Decimal(str(raw))
    if name == "affected":
        return tuple(AffectedSnapshot(**row) for row in raw)
    if name == "credits":
        return tuple(CreditSnapshot(**row) for row in raw)
    if name == "references":
        return tuple(ReferenceSnapshot(**row) for row in raw)
    if isinstance(raw, list):
        return tuple(raw)
    return raw


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
    """Every declared field the public sees, as ``advisory`` holds it now (saved or not:
    the editor's preview passes the advisory the action's cleaning built)."""
    return {f.name: _snapshot_value(f, getattr(advisory, f.name)) for f in public_fields()}


def snapshot_of(advisory: Advisory, *, with_history: bool = True) -> AdvisorySnapshot:
    """The advisory as it is now in the database."""
    affected = tuple(
        AffectedSnapshot(
            product=row.product.name,
            product_slug=row.product.slug,
            deployment=row.deployment,
            region=row.region,
            introduced=row.introduced,
            fixed=row.fixed,
            last_affected=row.last_affected,
            status=row.status,
            ecosystem=row.product.ecosystem,
            package_name=row.product.package_name,
            repository_url=row.product.repository_url,
        )
        for row in _affected_rows(advisory)
    )
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
        cvss_v3_score=advisory.cvss_v3_score,
        cvss_v4_score=advisory.cvss_v4_score,
        incident=advisory.incident.identifier,
        published_at=advisory.published_at,
        updated_at=advisory.updated_at,
        withdrawn_at=advisory.withdrawn_at,
        withdrawn_reason=advisory.withdrawn_reason,
        affected=affected,
        credits=tuple(
            CreditSnapshot(name=c.name, type=c.type, contact=c.contact)
            for c in advisory.credits.all()
        ),
        references=tuple(
            ReferenceSnapshot(url=r.url, type=r.type) for r in advisory.references.all()
        ),
        revisions=history,
    )
