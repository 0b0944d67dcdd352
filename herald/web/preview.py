"""Previews of an advisory as the editor holds it, before anything is saved.

``preview_of`` turns the editor's parsed input into the ``AdvisorySnapshot`` that
publication would render, cleaned and checked by the actions' own functions
(collected as problems rather than raised, so a half-written advisory still
previews), then renders it the two ways the public sees it: the public page and
the entry on the Markdown handbook page. For a public advisory it also lists the
differences from its last published revision: what saving will publish.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from herald.advisories.actions import preview_input, preview_vulnerability
from herald.advisories.models import Advisory
from herald.advisories.rules import publish_blockers
from herald.advisories.snapshot import (
    AdvisorySnapshot,
    AffectedSnapshot,
    CreditSnapshot,
    ReferenceSnapshot,
    RevisionEntry,
    SourceSnapshot,
    VulnerabilitySnapshot,
    affected_snapshot,
    declared_values,
    snapshot_of,
    vulnerabilities_of,
    vulnerability_snapshot,
)
from herald.publishing.render.markdown import advisory_blocks
from herald.web.diffs import FieldChange, field_changes
from herald.web.errors import label_for

NEW_IDENTIFIER = "(assigned at publication)"


@dataclass(frozen=True)
class Preview:
    snapshot: AdvisorySnapshot
    markdown: str
    problems: list[str]
    changes: tuple[FieldChange, ...] | None  # None: never published, nothing to compare
    compared_with: int | None  # the revision number compared against


def preview_of(
    values: Mapping[str, Any],
    rows: Mapping[str, list[dict[str, Any]]],
    *,
    advisory: Advisory | None,
    now: dt.datetime,
) -> Preview:
    """The snapshot publication would render from ``values`` (the form's) and ``rows``.

    The values are cleaned and checked by the action's own functions
    (``preview_input``), and what would block publishing them is the one list the
    publish action asks (``publish_blockers``): the preview cannot disagree with them.
    """
    previewed, errors = preview_input(values, advisory=advisory)
    return _preview(
        previewed,
        errors,
        advisory=advisory,
        now=now,
        vulnerabilities=vulnerabilities_of(
            previewed, affected=[_affected(r) for r in rows.get("affected", [])]
        ),
        credits=tuple(
            CreditSnapshot(name=r["name"], type=r["type"], contact=r.get("contact") or "")
            for r in rows.get("credits", [])
        ),
        references=tuple(
            ReferenceSnapshot(url=r["url"], type=r["type"]) for r in rows.get("references", [])
        ),
    )


def vulnerability_preview_of(
    values: Mapping[str, Any],
    rows: list[dict[str, Any]],
    *,
    advisory: Advisory,
    position: int | None,
    now: dt.datetime,
) -> Preview:
    """The snapshot publication would render once one vulnerability (at ``position``,
    0-based; None: a new one) holds ``values`` (its fields, notes and references) and
    its own product ``rows``: the advisory as stored otherwise.

    The vulnerability is cleaned and checked by its write's own functions
    (``preview_vulnerability``) and made a snapshot as a stored one is
    (``vulnerability_snapshot``, ``affected_snapshot``); the rest is ``preview_of``'s.
    """
    previewed, vulnerability, own, errors = preview_vulnerability(
        advisory, position=position, values=values, rows=rows
    )
    stored = snapshot_of(advisory, with_history=False)
    common = [
        affected_snapshot(r)
        for r in advisory.affected.select_related("product").filter(vulnerability__isnull=True)
    ]
    this = vulnerability_snapshot(vulnerability, [*(affected_snapshot(r) for r in own), *common])
    vulnerabilities = list(stored.vulnerabilities)
    if position is None or not 0 <= position < len(vulnerabilities):
        vulnerabilities.append(this)
    else:
        vulnerabilities[position] = this
    return _preview(
        previewed,
        errors,
        advisory=advisory,
        now=now,
        vulnerabilities=tuple(vulnerabilities),
        credits=stored.credits,
        references=stored.references,
        sources=stored.sources,
    )


def _preview(
    previewed: Advisory,
    errors: Mapping[str, list[str]],
    *,
    advisory: Advisory | None,
    now: dt.datetime,
    vulnerabilities: tuple[VulnerabilitySnapshot, ...],
    credits: tuple[CreditSnapshot, ...],
    references: tuple[ReferenceSnapshot, ...],
    sources: tuple[SourceSnapshot, ...] = (),
) -> Preview:
    """The preview of ``previewed`` (unsaved, as the write would make it) with these
    vulnerabilities and rows: what would block publishing it, the snapshot, its
    differences from the last published revision, the Markdown entry."""
    problems = [f"{label_for(field)}: {m}" for field, messages in errors.items() for m in messages]
    problems += [
        f"{label_for(b.field)}: {b.message}"
        for b in publish_blockers(previewed, at=now)
        if b.message not in errors.get(b.field, [])
    ]
    public = advisory is not None and advisory.is_public
    published_at = advisory.published_at if advisory and advisory.published_at else now
    disclosed = previewed.disclosed_at or (None if public else published_at.date())
    snapshot = AdvisorySnapshot(
        identifier=advisory.identifier if advisory and public else NEW_IDENTIFIER,
        state=advisory.state if advisory and public else "published",
        # Every declared field, exactly as publication would snapshot it.
        **{
            **declared_values(previewed),
            "status": previewed.status or Advisory.Status.REPORTED,
            "summary": " ".join(previewed.summary.split()),
            "disclosed_at": disclosed,
        },
        incident=advisory.incident.identifier if advisory else "",
        published_at=published_at,
        updated_at=now,
        withdrawn_at=advisory.withdrawn_at if advisory else None,
        withdrawn_reason=advisory.withdrawn_reason if advisory else "",
        vulnerabilities=vulnerabilities,
        credits=credits,
        references=references,
        sources=sources,
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
