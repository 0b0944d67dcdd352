"""The outbox: the one way any part of Herald owes someone a message.

A message to a person or a system is a ``Message`` (what is said, once) and one
``Delivery`` row per recipient, written in the caller's transaction and sent by
the delivery engine (``herald.notify.delivery``) after the commit: internal
channels, subscribers, campaign contacts, and reporters alike (the intake calls
``write_message`` for its mail to reporters; notify knows nothing of reports).
Everything a transport needs is stored on the rows, so sending, retrying,
re-driving and the desk's outbox views treat every message the same way.

This module imports no other action module, so any app above notify may call it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from herald.advisories.models import Advisory, Revision
from herald.notify import conf, render
from herald.notify.channels import message_id_for
from herald.notify.models import Campaign, Channel, Delivery, Message, Subscriber


@dataclass(frozen=True)
class Target:
    """One recipient of a message, before it becomes a Delivery row.

    ``message_id`` overrides the Message-ID derived from ``key``: a reporter's
    mail carries one that their answer quotes back (``herald.intake.outbound``).
    """

    kind: str
    recipient: str
    key: str
    channel: Channel | None = None
    subscriber: Subscriber | None = None
    customer_id: int | None = None
    message_id: str = ""


def write_message(
    *,
    source: str,
    key: str,
    rendered: render.Rendered,
    targets: Iterable[Target],
    advisory: Advisory | None = None,
    revision: Revision | None = None,
    campaign: Campaign | None = None,
    headers: Mapping[str, str] | None = None,
) -> Message:
    """The message and one Delivery per target, in the caller's transaction; kicks on commit.

    Both are keyed (``Message.key``, ``Delivery.idempotency_key``), so writing the
    same cause twice adds nothing. ``headers`` are extra e-mail headers of the
    message (threading, Reply-To), which e-mail transports add and others ignore.
    """
    now = timezone.now()
    message, _ = Message.objects.get_or_create(
        key=key,
        defaults={
            "source": source,
            "subject": rendered.subject,
            "text": rendered.text,
            "data": rendered.data,
            "link": rendered.link,
            "headers": dict(headers or {}),
            "advisory": advisory,
            "revision": revision,
            "campaign": campaign,
            "created_at": now,
        },
    )
    domain = conf.mail_domain()
    rows = [
        Delivery(
            message=message,
            kind=t.kind,
            channel=t.channel,
            recipient=t.recipient,
            subscriber=t.subscriber,
            customer_id=t.customer_id,
            campaign=campaign,
            idempotency_key=t.key,
            rfc_message_id=t.message_id or message_id_for(t.key, domain),
            next_attempt_at=now,
            created_at=now,
        )
        for t in targets
    ]
    Delivery.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    if rows:
        transaction.on_commit(_kick)
    return message


def write_one(
    *,
    source: str,
    key: str,
    rendered: render.Rendered,
    target: Target,
    headers: Mapping[str, str] | None = None,
) -> Delivery:
    """One message to one recipient (a reporter's mail); returns its Delivery row."""
    write_message(source=source, key=key, rendered=rendered, targets=[target], headers=headers)
    return Delivery.objects.get(idempotency_key=target.key)


def _kick() -> None:
    from herald.notify.tasks import kick

    kick()
