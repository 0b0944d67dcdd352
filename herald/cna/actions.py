"""What Herald does at CVE Services: reserve ids, and queue each record's publication.

- ``do_reserve_cve_ids``: asks CVE Services for ids now (``POST /cve-id``) and keeps
  what it answered, audited. A person waits for it, so it is not queued.
- ``fanout_cve_records``: called by the publication function
  (``herald.publication.actions``) in its transaction, after the artifacts are
  rendered: one outbox row (``Delivery`` of kind ``cve``) per CVE id of the
  revision's advisory that this CNA reserved, carrying the CNA container as
  rendered for that revision. The delivery worker sends it (``herald.cna.sender``),
  so a publication never waits on CVE Services.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from herald.advisories.models import Advisory, Revision
from herald.audit.actions import actor_label, record
from herald.cna import client as cve_client
from herald.cna.models import CveId
from herald.core.errors import HeraldError, ValidationError
from herald.notify.models import Channel, Delivery, Message
from herald.notify.outbox import Target, write_message
from herald.notify.render import Rendered
from herald.publishing.site.surfaces_cve import container_path
from herald.publishing.store.artifacts import read_one

MAX_AMOUNT = 100
CVE_ID = re.compile(r"^CVE-\d{4}-\d{4,19}$")

PUBLISH = "publish"
REJECT = "reject"


@dataclass(frozen=True)
class Reservation:
    ids: list[CveId]
    partial: bool  # CVE Services reserved fewer than asked (HTTP 206: the quota ran out)


def do_reserve_cve_ids(
    *, year: int | None = None, amount: int = 1, acting_user: AbstractBaseUser | None
) -> Reservation:
    """Reserve ``amount`` ids for ``year`` (default: this year) at CVE Services, and keep them."""
    now = timezone.now()
    year = year or now.year
    errors = {}
    if not 1999 <= year <= now.year + 1:
        errors["year"] = f"Reserve ids for a year from 1999 to {now.year + 1}, not {year}."
    if not 1 <= amount <= MAX_AMOUNT:
        errors["amount"] = f"Reserve from 1 to {MAX_AMOUNT} ids at a time, not {amount}."
    if errors:
        raise ValidationError(errors)
    cfg = cve_client.config()
    if not cfg.configured:
        raise HeraldError(cfg.not_configured_message())
    try:
        answer = cve_client.client(cfg).reserve(amount, False, str(year))
    except cve_client.CveServicesError as exc:
        raise HeraldError(f"No id was reserved. {exc}") from None
    entries = [e for e in (answer.get("cve_ids") or []) if isinstance(e, dict)]
    who = actor_label(acting_user)
    kept: list[CveId] = []
    with transaction.atomic():
        for entry in entries:
            cve_id = str(entry.get("cve_id") or "")
            if not CVE_ID.match(cve_id):
                continue
            row, _ = CveId.objects.update_or_create(
                cve_id=cve_id,
                defaults={
                    "year": int(str(entry.get("cve_year") or year)[:4]),
                    "owning_cna": str(entry.get("owning_cna") or cfg.org)[:64],
                    "state": str(entry.get("state") or CveId.State.RESERVED)[:16],
                    "reserved_at": now,
                    "reserved_by": who,
                },
            )
            kept.append(row)
        record(
            acting_user=acting_user,
            action="cve.reserved",
            object_type="cna.cveid",
            object_id=",".join(r.cve_id for r in kept)[:200] or "none",
            after={"year": year, "asked": amount, "reserved": [r.cve_id for r in kept]},
        )
    return Reservation(ids=kept, partial=len(kept) < amount)


def owned_ids(cve_ids: list[str], org: str) -> list[str]:
    """The ids among ``cve_ids`` this CNA reserved through Herald (others are not sent)."""
    mine = set(
        CveId.objects.filter(cve_id__in=cve_ids, owning_cna__iexact=org).values_list(
            "cve_id", flat=True
        )
    )
    return [c for c in cve_ids if c in mine]


def ids_to_send(advisory: Advisory) -> list[str]:
    """The CVE ids whose records Herald sends to CVE Services for ``advisory``: none
    unless CVE Services is configured, and only ids this CNA reserved. The publication
    (``fanout_cve_records``) and the desk's "what will happen" both ask this."""
    cfg = cve_client.config()
    if not cfg.configured:
        return []
    return owned_ids(sorted(set(advisory.cve_ids)), cfg.org)


def fanout_cve_records(revision: Revision) -> list[str]:
    """Outbox rows publishing (or rejecting) the revision's CVE records; the keys written.

    Only when CVE Services is configured, and only for ids this CNA owns: an id
    another CNA assigned (GitHub's, MITRE's) is that CNA's to publish. The
    container is the stored artifact ``cve/<id>.cna.json`` that this same
    transaction rendered and validated, so CVE Services gets what the public site
    serves.
    """
    advisory: Advisory = revision.advisory
    action = REJECT if revision.kind == Revision.Kind.WITHDRAWN else PUBLISH
    keys = []
    for cve_id in ids_to_send(advisory):
        stored = read_one(container_path(cve_id))
        if stored is None:  # not rendered: the CNA's org id is missing
            continue
        key = f"cve:{cve_id}:{advisory.pk}:r{revision.number}"
        earlier = Delivery.objects.filter(kind=Channel.Kind.CVE, recipient=cve_id).exists()
        verb = "Reject" if action == REJECT else ("Update" if earlier else "Publish")
        rendered = Rendered(
            subject=f"{verb} {cve_id} ({advisory.identifier}, revision {revision.number})",
            text=f"{verb} the CVE record {cve_id} at CVE Services from advisory "
            f"{advisory.identifier}, revision {revision.number}.",
            data={
                "cve_id": cve_id,
                "action": action,
                "advisory": advisory.identifier,
                "revision": revision.number,
                "container": json.loads(stored),
            },
        )
        write_message(
            source=Message.Source.CVE,
            key=key,
            rendered=rendered,
            targets=[Target(kind=Channel.Kind.CVE, recipient=cve_id, key=key)],
            advisory=advisory,
            revision=revision,
        )
        keys.append(key)
    return keys
