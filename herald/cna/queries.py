"""What the desk and the CLI show of CVE Services: reserved ids, and each record's state.

A record's state at CVE Services is read from the outbox rows that sent it (the
last answer is on the row): nothing else stores it, so it cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from herald.advisories.models import Advisory, Vulnerability
from herald.cna.client import config
from herald.cna.models import CveId
from herald.notify.models import Channel, Delivery

UNFINISHED = (Delivery.Status.PENDING, Delivery.Status.FAILED, Delivery.Status.SENDING)


def cve_deliveries(cve_id: str) -> list[Delivery]:
    """Every outbox row for ``cve_id``'s record, oldest first."""
    return list(
        Delivery.objects.filter(kind=Channel.Kind.CVE, recipient=cve_id)
        .select_related("message")
        .order_by("id")
    )


def record_exists(cve_id: str, *, before: int) -> bool:
    """Whether an earlier row (id below ``before``) created the record at CVE Services."""
    return Delivery.objects.filter(
        kind=Channel.Kind.CVE, recipient=cve_id, status=Delivery.Status.SENT, id__lt=before
    ).exists()


def later_sent(cve_id: str, *, after: int) -> Delivery | None:
    """A later row for the same record already sent: CVE Services holds a newer record
    than row ``after`` carries (an old dead row re-driven must not overwrite it)."""
    return (
        Delivery.objects.filter(
            kind=Channel.Kind.CVE, recipient=cve_id, status=Delivery.Status.SENT, id__gt=after
        )
        .order_by("-id")
        .first()
    )


def earlier_unfinished(cve_id: str, *, before: int) -> Delivery | None:
    """An earlier row for the same record still to be sent: it must go first."""
    return (
        Delivery.objects.filter(
            kind=Channel.Kind.CVE, recipient=cve_id, status__in=UNFINISHED, id__lt=before
        )
        .order_by("id")
        .first()
    )


def sent_states(cve_ids: list[str]) -> dict[str, str]:
    """Each record's state at CVE Services as its last sent row left it (PUBLISHED or
    REJECTED); ids no row has sent yet are absent. The one reading of that state: the
    desk, ``herald cve status`` and ``herald cve list`` all use it."""
    last: dict[str, str] = {}
    rows = (
        Delivery.objects.filter(
            kind=Channel.Kind.CVE, recipient__in=cve_ids, status=Delivery.Status.SENT
        )
        .order_by("id")
        .values_list("recipient", "message__data")
    )
    for cve_id, data in rows:
        last[cve_id] = "REJECTED" if (data or {}).get("action") == "reject" else "PUBLISHED"
    return last


def cve_services_used() -> bool:
    """Whether this desk talks to CVE Services: configured, or ids reserved already."""
    return config().configured or CveId.objects.exists()


def unused_reserved_ids() -> list[str]:
    """Reserved ids no advisory uses yet: what the editor offers."""
    used = Vulnerability.objects.exclude(cve_id="").values_list("cve_id", flat=True)
    return list(
        CveId.objects.filter(state=CveId.State.RESERVED)
        .exclude(cve_id__in=used)
        .order_by("cve_id")
        .values_list("cve_id", flat=True)
    )


@dataclass(frozen=True)
class CveStatus:
    cve_id: str
    ours: bool
    state: str  # at CVE Services, as far as Herald knows: RESERVED, PUBLISHED, REJECTED, ""
    summary: str  # one line, plain words
    pending: bool
    last_answer: str
    last_error: str
    delivery_id: int | None
    delivery_status: str
    attempts: int
    next_attempt_at: dt.datetime | None


def cve_status(advisory: Advisory) -> list[CveStatus]:
    """Each CVE id of the advisory: its state at CVE Services and the last answer."""
    cfg = config()
    ids = list(dict.fromkeys(advisory.cve_ids))
    reserved = {r.cve_id: r for r in CveId.objects.filter(cve_id__in=ids)}
    states = sent_states(ids)
    out = []
    for cve_id in ids:
        row = reserved.get(cve_id)
        ours = row is not None and (not cfg.org or row.owning_cna.lower() == cfg.org.lower())
        rows = cve_deliveries(cve_id)
        sent = [d for d in rows if d.status == Delivery.Status.SENT]
        state = states.get(cve_id) or (row.state if row is not None else "")
        last = rows[-1] if rows else None
        pending = last is not None and last.status in UNFINISHED
        if not cfg.configured and last is None:
            summary = (
                cfg.not_configured_message()
                + " Until then Herald sends no CVE record; publish it with another tool."
            )
        elif not ours:
            summary = (
                "Not sent: this CNA did not reserve it through Herald (another CNA, such as "
                "GitHub's, assigned it and publishes its record)."
            )
        elif last is None:
            summary = (
                cfg.not_configured_message()
                if not cfg.configured
                else "Reserved; its record is sent when the advisory is published."
            )
        elif last.status == Delivery.Status.SENT:
            summary = f"{state.capitalize()} at CVE Services."
        elif last.status == Delivery.Status.DEAD:
            summary = (
                f"Not sent, Herald gave up: {last.last_error} Fix the cause, then "
                f"`herald deliveries redrive {last.pk}`."
            )
        else:
            why = f" Last try: {last.last_error}" if last.last_error else ""
            when = (
                f" Next try at {last.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC."
                if last.status == Delivery.Status.FAILED
                else ""
            )
            verb = "rejection" if last.message.data.get("action") == "reject" else "publication"
            summary = f"Pending: the {verb} waits to be sent.{why}{when}"
        out.append(
            CveStatus(
                cve_id=cve_id,
                ours=ours,
                state=state,
                summary=summary,
                pending=pending,
                last_answer=(sent[-1].response if sent else ""),
                last_error=last.last_error if last is not None else "",
                delivery_id=last.pk if last is not None else None,
                delivery_status=last.status if last is not None else "",
                attempts=last.attempts if last is not None else 0,
                next_attempt_at=last.next_attempt_at if pending and last is not None else None,
            )
        )
    return out
