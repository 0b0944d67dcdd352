"""The JSON shape of an advisory, shared by the API and the CLI's ``--json``.

``advisory_to_dict`` is the one place that turns an ``AdvisorySnapshot`` into
JSON, so that ``GET /api/v1/advisories/ID`` and ``herald advisory show ID --json``
can never disagree. Keys are the action's field names (``reported_at``,
``cve_ids``, ...), which is what lets ``herald advisory create --from-json`` read
the output of ``show --json`` back: ``fields_from_dict`` is that reverse step.

The desk (the CLI) sees a few more keys than the public (``DESK_KEYS``): the
incident, the version used for conflict checks, the embargo and the schedule.
They are added on top of the public dict, never instead of one of its keys.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder

from herald.advisories.fields import ADVISORY_FIELDS, FIELDS, AdvisoryField, public_fields
from herald.advisories.snapshot import AdvisorySnapshot, snapshot_json, snapshot_of
from herald.core.errors import ValidationError

if TYPE_CHECKING:
    from herald.advisories.models import Advisory

__all__ = [
    "DESK_KEYS",
    "INPUT_FIELDS",
    "READ_ONLY_KEYS",
    "advisory_to_dict",
    "desk_advisory_to_dict",
    "fields_from_dict",
]

# The encoder the API's renderer uses: formatting dates with it here makes the
# CLI's output byte-for-byte what the API sends (milliseconds, "Z" for UTC).
_ENCODER = DjangoJSONEncoder()

# Fields a caller may give, with the action's names (the declaration's); everything
# else is derived.
INPUT_FIELDS = tuple(FIELDS)
ROW_FIELDS = ("affected", "credits", "references")
# Written by Herald, never by the caller; accepted in input and ignored so that
# ``show --json`` output can be edited and fed back as it is.
READ_ONLY_KEYS = frozenset(
    {
        "identifier",
        "state",
        "current",
        "cvss_v3_score",
        "cvss_v4_score",
        "published_at",
        "updated_at",
        "withdrawn_at",
        "withdrawn_reason",
        "revisions",
        "version",
        "scheduled_publish_at",
        "vulnerabilities",
        "sources",
    }
)
# The declared fields the public never sees (the embargo) are the desk's too.
DESK_KEYS = (
    "incident",
    "version",
    *(f.name for f in ADVISORY_FIELDS if not f.public),
    "scheduled_publish_at",
)
_AFFECTED_INPUT = ("deployment", "region", "introduced", "fixed", "last_affected", "status")


def _when(value: dt.date | dt.datetime | None) -> str | None:
    return None if value is None else str(_ENCODER.default(value))


def _json_value(field: AdvisoryField, value: Any) -> Any:
    if field.kind == "list":
        return list(value or ())
    if field.kind in ("date", "datetime"):
        return _when(value)
    return value


def _score(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def advisory_to_dict(snapshot: AdvisorySnapshot, *, detail: bool = True) -> dict[str, Any]:
    """The public JSON of one advisory; ``detail`` adds its revision history.

    The history is only as complete as the snapshot: build it with
    ``snapshot_of(advisory)`` (the default, ``with_history=True``) for a detail view.
    """
    data: dict[str, Any] = {
        "identifier": snapshot.identifier,
        "state": snapshot.state,
        "current": snapshot.is_current,
        # Every declared field the public sees, in the declaration's order.
        **{f.name: _json_value(f, getattr(snapshot, f.name)) for f in public_fields()},
        "cvss_v3_score": _score(snapshot.cvss_v3_score),
        "cvss_v4_score": _score(snapshot.cvss_v4_score),
        "published_at": _when(snapshot.published_at),
        "updated_at": _when(snapshot.updated_at),
        "withdrawn_at": _when(snapshot.withdrawn_at),
        "withdrawn_reason": snapshot.withdrawn_reason,
        "affected": [
            {
                # The slug, not the name: it is what --product and the API's
                # ?product= filter take, so the row reads back unchanged.
                "product": row.product_slug,
                "product_name": row.product,
                "deployment": row.deployment,
                "region": row.region,
                "introduced": row.introduced,
                "fixed": row.fixed,
                "last_affected": row.last_affected,
                "status": row.status,
                "version_range": row.version_range,
            }
            for row in snapshot.affected
        ],
        "credits": [
            {"name": c.name, "type": c.type, "contact": c.contact} for c in snapshot.credits
        ],
        "references": [{"url": r.url, "type": r.type} for r in snapshot.references],
        # The record in full: each vulnerability with its ids, weaknesses, scores,
        # texts and per-product status (the flat fields above are derived from these).
        "vulnerabilities": snapshot_json([asdict(v) for v in snapshot.vulnerabilities]),
        "sources": snapshot_json([asdict(src) for src in snapshot.sources]),
    }
    if detail:
        data["revisions"] = [
            {
                "number": r.number,
                "kind": r.kind,
                "summary": r.summary,
                "created_at": _when(r.created_at),
            }
            for r in snapshot.revisions
        ]
    return data


def desk_advisory_to_dict(advisory: Advisory, *, detail: bool = True) -> dict[str, Any]:
    """The public dict plus what only the desk sees (``DESK_KEYS``)."""
    data = advisory_to_dict(snapshot_of(advisory, with_history=detail), detail=detail)
    data.update(
        incident=advisory.incident.identifier,
        version=advisory.version,
        **{
            f.name: _json_value(f, getattr(advisory, f.name))
            for f in ADVISORY_FIELDS
            if not f.public
        },
        scheduled_publish_at=_when(advisory.scheduled_publish_at),
    )
    return data


def fields_from_dict(data: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for ``do_create_advisory``/``do_update_advisory`` from the JSON shape.

    Derived keys are ignored; an unknown key is an error naming it, because a
    misspelt field silently dropped would be a change the editor believes was made.
    ``incident`` is returned as the identifier; the caller resolves it.
    """
    if not isinstance(data, Mapping):
        raise ValidationError({"json": "Expected a JSON object (the output of show --json)."})
    allowed = {*INPUT_FIELDS, *ROW_FIELDS, *READ_ONLY_KEYS, "incident"}
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise ValidationError({name: "Not a field of an advisory." for name in unknown})
    values: dict[str, Any] = {name: data[name] for name in INPUT_FIELDS if name in data}
    if data.get("incident"):
        values["incident"] = str(data["incident"])
    errors: dict[str, str] = {}
    for name in ROW_FIELDS:
        if name not in data:
            continue
        rows = data[name]
        if rows is None:
            rows = []
        if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
            errors[name] = "Expected a list of objects."
            continue
        if name == "affected":
            values[name] = [
                {
                    "product": row.get("product") or row.get("product_name"),
                    **{key: row[key] for key in _AFFECTED_INPUT if key in row},
                }
                for row in rows
            ]
        else:
            keys = ("name", "type", "contact") if name == "credits" else ("url", "type")
            values[name] = [{key: row[key] for key in keys if key in row} for row in rows]
    if errors:
        raise ValidationError(errors)
    return values
