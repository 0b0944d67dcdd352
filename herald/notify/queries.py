"""Reads for the notification pages and commands: campaign progress, histories, lists."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, QuerySet

from herald.core.errors import HeraldError
from herald.notify.models import Campaign, Customer, Delivery


@dataclass(frozen=True)
class Progress:
    pending: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0

    @property
    def total(self) -> int:
        return self.pending + self.sending + self.sent + self.failed + self.dead

    @property
    def waiting(self) -> int:
        """Not finished yet: pending, in flight, or failed and due for a retry."""
        return self.pending + self.sending + self.failed


def progress(deliveries: QuerySet[Delivery]) -> Progress:
    counts = dict(
        deliveries.order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return Progress(**{status: counts.get(status, 0) for status in Delivery.Status.values})


def access_campaign_by_id(pk: int | str) -> Campaign:
    try:
        return Campaign.objects.select_related("advisory").get(pk=int(pk))
    except (Campaign.DoesNotExist, ValueError):
        raise HeraldError(f"No campaign {str(pk)[:20]!r}.") from None


def access_customer_by_id(pk: int | str) -> Customer:
    try:
        return Customer.objects.get(pk=int(pk))
    except (Customer.DoesNotExist, ValueError):
        raise HeraldError(f"No customer {str(pk)[:20]!r}.") from None


def campaign_rows(campaign: Campaign) -> list[dict[str, object]]:
    """Each recipient with why they were chosen and, once sent, what became of the message."""
    deliveries = {
        d.recipient: d for d in campaign.deliveries.all().only("id", "recipient", "status",
                                                               "attempts", "last_error", "sent_at")
    }  # fmt: skip
    return [
        {"recipient": r, "delivery": deliveries.get(r.email)}
        for r in campaign.recipients.select_related("customer")
    ]


def customer_notices(customer: Customer) -> list[dict[str, object]]:
    """Every advisory the customer was told about, newest first, with each contact's status."""
    grouped: dict[int, dict[str, object]] = {}
    rows = (
        Delivery.objects.filter(customer=customer)
        .select_related("message__advisory", "campaign")
        .order_by("-created_at", "recipient")
    )
    for d in rows:
        advisory = d.message.advisory
        if advisory is None:
            continue
        entry = grouped.setdefault(
            advisory.pk, {"advisory": advisory, "deliveries": [], "campaigns": set()}
        )
        entry["deliveries"].append(d)  # type: ignore[attr-defined]
        if d.campaign_id:
            entry["campaigns"].add(d.campaign_id)  # type: ignore[attr-defined]
    return list(grouped.values())
