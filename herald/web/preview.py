"""Previews of an advisory as the editor holds it, before anything is saved.

``preview_of`` turns the editor's parsed input into the ``AdvisorySnapshot`` that
publication would render, checked by the same ``check_*`` functions as the actions
(collected as problems rather than raised, so a half-written advisory still
previews), then renders it the two ways the public sees it: the public page and
the entry on the Markdown handbook page. For a public advisory it also lists the
differences from its last published revision: what saving will publish.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from herald.advisories.actions import regions_named_in
from herald.advisories.models import Advisory
from herald.advisories.snapshot import (
    AdvisorySnapshot,
    AffectedSnapshot,
    CreditSnapshot,
    ReferenceSnapshot,
    RevisionEntry,
)
from herald.advisories.validation import (
    check_cve_ids,
    check_cvss,
    check_cwe_ids,
    check_publishable,
    check_status,
    check_timeline,
)
from herald.core.errors import ValidationError
from herald.core.models import VendorProfile
from herald.publishing.render.markdown import advisory_blocks
from herald.web.diffs import FieldChange, field_changes
from herald.web.errors import label_for

T = TypeVar("T")
NEW_IDENTIFIER = "(assigned at publication)"


@dataclass(frozen=True)
class Preview:
    snapshot: AdvisorySnapshot
    markdown: str
    problems: list[str]
    changes: tuple[FieldChange, ...] | None  # None: never published, nothing to compare
    compared_with: int | None  # the revision number compared against


def _check(problems: list[str], check: Callable[..., T], *args: Any) -> T | None:
    try:
        return check(*args)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            problems.extend(f"{label_for(field)}: {m}" for m in messages)
        return None


def preview_of(
    values: Mapping[str, Any],
    rows: Mapping[str, list[dict[str, Any]]],
    *,
    advisory: Advisory | None,
    now: dt.datetime,
) -> Preview:
    """The snapshot publication would render from ``values`` (the form's) and ``rows``."""
    problems: list[str] = []
    text = {k: str(values.get(k) or "") for k in ("title", "summary", "description",
                                                  "affected_users", "resolution")}  # fmt: skip
    severity = str(values.get("severity") or "")
    scores: dict[str, Any] = {}
    for field in ("cvss_v3_vector", "cvss_v4_vector"):
        scores[field] = _check(problems, check_cvss, str(values.get(field) or ""), field)
    derived = scores["cvss_v4_vector"] or scores["cvss_v3_vector"]
    if derived is not None:
        severity = derived.severity
    dates = {k: values.get(k) for k in ("discovered_at", "reported_at", "fixed_at",
                                        "disclosed_at")}  # fmt: skip
    status = str(values.get("status") or Advisory.Status.REPORTED)
    _check(problems, check_timeline, dates)
    _check(problems, check_status, status, dates["fixed_at"])
    _check(problems, check_publishable, {**text, "severity": severity, "status": status,
                                         "reported_at": dates["reported_at"]})  # fmt: skip
    regions = [r.strip().upper() for r in str(values.get("affected_regions") or "").split(",")]
    regions = [r for r in regions if r] or regions_named_in(
        text["affected_users"], VendorProfile.get().regions or []
    )
    published_at = advisory.published_at if advisory and advisory.published_at else now
    disclosed = dates["disclosed_at"] or (
        None if advisory and advisory.is_public else published_at.date()
    )
    snapshot = AdvisorySnapshot(
        identifier=advisory.identifier if advisory and advisory.is_public else NEW_IDENTIFIER,
        title=text["title"],
        state=advisory.state if advisory and advisory.is_public else "published",
        status=status,
        severity=severity,
        summary=" ".join(text["summary"].split()),
        description=text["description"],
        cve_ids=tuple(_check(problems, check_cve_ids, values.get("cve_ids")) or ()),
        cwe_ids=tuple(_check(problems, check_cwe_ids, values.get("cwe_ids")) or ()),
        cvss_v3_vector=scores["cvss_v3_vector"].vector if scores["cvss_v3_vector"] else "",
        cvss_v3_score=scores["cvss_v3_vector"].score if scores["cvss_v3_vector"] else None,
        cvss_v4_vector=scores["cvss_v4_vector"].vector if scores["cvss_v4_vector"] else "",
        cvss_v4_score=scores["cvss_v4_vector"].score if scores["cvss_v4_vector"] else None,
        affected_users=text["affected_users"],
        affected_regions=tuple(regions),
        resolution=text["resolution"],
        discovered_at=dates["discovered_at"],
        reported_at=dates["reported_at"],
        fixed_at=dates["fixed_at"],
        disclosed_at=disclosed,
        confirmed_exposure=bool(values.get("confirmed_exposure")),
        user_action_required=bool(values.get("user_action_required")),
        incident=advisory.incident.identifier if advisory else "",
        published_at=published_at,
        updated_at=now,
        withdrawn_at=advisory.withdrawn_at if advisory else None,
        withdrawn_reason=advisory.withdrawn_reason if advisory else "",
        affected=tuple(_affected(r) for r in rows.get("affected", [])),
        credits=tuple(
            CreditSnapshot(name=r["name"], type=r["type"], contact=r.get("contact") or "")
            for r in rows.get("credits", [])
        ),
        references=tuple(
            ReferenceSnapshot(url=r["url"], type=r["type"]) for r in rows.get("references", [])
        ),
        revisions=_history(advisory),
    )
    changes, compared_with = None, None
    last = advisory.revisions.order_by("-number").first() if advisory and advisory.pk else None
    if last is not None:
        after = {**snapshot.to_dict(), "incident": last.snapshot.get("incident")}
        changes, compared_with = field_changes(last.snapshot, after), last.number
    return Preview(
        snapshot=snapshot,
        markdown="\n\n".join(advisory_blocks(snapshot)) + "\n",
        problems=problems,
        changes=changes,
        compared_with=compared_with,
    )


def _affected(row: Mapping[str, Any]) -> AffectedSnapshot:
    product = row["product"]
    return AffectedSnapshot(
        product=getattr(product, "name", str(product)),
        product_slug=getattr(product, "slug", ""),
        deployment=row.get("deployment") or "cloud",
        region=str(row.get("region") or "").upper(),
        introduced=str(row.get("introduced") or ""),
        fixed=str(row.get("fixed") or ""),
        last_affected=str(row.get("last_affected") or ""),
        status=row.get("status") or "affected",
        ecosystem=getattr(product, "ecosystem", ""),
        package_name=getattr(product, "package_name", ""),
        repository_url=getattr(product, "repository_url", ""),
    )


def _history(advisory: Advisory | None) -> tuple[RevisionEntry, ...]:
    if advisory is None or not advisory.pk:
        return ()
    return tuple(
        RevisionEntry(r.number, r.kind, r.summary, r.created_at)
        for r in advisory.revisions.order_by("number")
    )


def unchanged(preview: Preview) -> bool:
    return preview.changes is not None and not preview.changes
