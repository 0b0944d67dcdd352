"""Advisories changed behind Herald's back, and every audit problem in one list.

Every action that changes an advisory records its whole snapshot as the audit
event's ``after``. An advisory whose rows now say something else was edited
around the actions (SQL, the Django shell, a restored table): ``herald audit
verify`` and the desk's audit page report each field that drifted, with the
chain's breaks and its disagreements with the signed anchor (``audit_problems``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q

from herald.advisories.models import Advisory
from herald.advisories.snapshot import AdvisorySnapshot, snapshot_of
from herald.audit.actions import verify
from herald.audit.anchor import AnchorReport, check_anchor
from herald.audit.models import AuditEvent
from herald.incidents.models import Incident

# The snapshot's fields that identify an audited full state (as opposed to, say,
# a scheduling event that records only the new date).
_SNAPSHOT_KEYS = {"identifier", "title", "state", "status"}
# Snapshots hold "vulnerabilities"; those audited before vulnerabilities existed hold
# the flat "affected" (``AdvisorySnapshot.from_dict`` reads both).
_ROW_KEYS = {"vulnerabilities", "affected"}
# Facts of the product, copied into each affected row of the snapshot: a product
# renamed through its own action changes them without touching the advisory.
_PRODUCT_FACTS = ("product", "ecosystem", "package_name", "repository_url")


def events_about(name: str) -> Q:
    """Events about the object called ``name`` now or before (a draft renamed on publication)."""
    condition = Q(object_id=name)
    for model in (Advisory, Incident):
        obj = model.objects.filter(identifier=name.upper()).first()
        if obj is not None:
            condition |= Q(object_type=obj._meta.label_lower, object_pk=str(obj.pk))
    return condition


@dataclass(frozen=True)
class Drift:
    identifier: str
    seq: int
    fields: tuple[str, ...]

    def __str__(self) -> str:
        return (
            f"advisory {self.identifier} differs from its last audited state "
            f"(event #{self.seq}) in: {', '.join(self.fields)}: edited outside Herald"
        )


def _stored_form(value: Any) -> Any:
    """The value as the audit event's JSON column holds it."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _comparable(state: dict[str, Any]) -> dict[str, Any]:
    """The audited fields, in today's snapshot shape, without the product's own facts."""
    state = _stored_form(AdvisorySnapshot.from_dict(state).to_dict())
    for vulnerability in state.get("vulnerabilities") or ():
        vulnerability["affected"] = [
            {k: v for k, v in row.items() if k not in _PRODUCT_FACTS}
            for row in vulnerability.get("affected") or ()
        ]
    return state


def _changed(now: dict[str, Any], audited: dict[str, Any]) -> Iterator[str]:
    """The fields that differ; a vulnerability's as "CVE-2026-1234 affected"."""
    for key, value in now.items():
        if key not in audited or audited[key] == value:
            continue
        if key != "vulnerabilities" or len(value) != len(audited[key]):
            yield key
            continue
        for i, (mine, theirs) in enumerate(zip(value, audited[key], strict=True)):
            name = mine.get("cve_id") or f"vulnerability {i + 1}"
            yield from (f"{name} {k}" for k in mine if mine[k] != theirs.get(k))


def _last_audited(advisory: Advisory) -> AuditEvent | None:
    events = AuditEvent.objects.filter(
        object_type=Advisory._meta.label_lower, object_pk=str(advisory.pk)
    ).order_by("-seq")
    for event in events.iterator(chunk_size=20):
        if (
            isinstance(event.after, dict)
            and event.after.keys() >= _SNAPSHOT_KEYS
            and event.after.keys() & _ROW_KEYS
        ):
            return event
    return None


def drifted_advisories() -> Iterator[Drift | str]:
    """Each advisory whose state is not the one its last audit event recorded."""
    queryset = Advisory.objects.select_related("incident").prefetch_related(
        "affected__product", "vulnerabilities", "sources", "credits", "references"
    )
    for advisory in queryset.order_by("pk").iterator(chunk_size=200):
        event = _last_audited(advisory)
        if event is None:
            yield f"advisory {advisory.identifier} has no audited state: created outside Herald"
            continue
        assert isinstance(event.after, dict)
        now = _comparable(_stored_form(snapshot_of(advisory, with_history=False).to_dict()))
        audited = _comparable(event.after)
        changed = tuple(sorted(_changed(now, audited)))
        if changed:
            yield Drift(advisory.identifier, event.seq, changed)


def audit_problems() -> tuple[list[str], AnchorReport]:
    """Everything ``herald audit verify`` reports: the chain, its anchor, drifted advisories."""
    problems = [str(p) for p in verify()]
    report = check_anchor()
    problems += report.problems
    problems += [str(d) for d in drifted_advisories()]
    return problems, report
