"""Reads for the notification pages and commands: campaign progress, histories, lists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.db.models import Count, OuterRef, QuerySet, Subquery

from herald.core.errors import HeraldError
from herald.core.models import VendorProfile
from herald.notify.models import Campaign, Channel, Customer, Delivery, Subscriber


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


def needs_a_person() -> QuerySet[Delivery]:
    """Dead deliveries someone must look at, newest first: CVE Services, GitHub and the
    internal channels. Campaign rows show on their campaign, and a subscriber's dead
    mail (a bounced address) is the subscriber's to fix, so neither is here. A row
    leaves when it is re-driven."""
    return (
        Delivery.objects.filter(
            status=Delivery.Status.DEAD, campaign__isnull=True, subscriber__isnull=True
        )
        .select_related("message")
        .order_by("-id")
    )


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


# ---------------------------------------------------------------- channels and subscribers


def access_channel_by_id(pk: int | str) -> Channel:
    try:
        return Channel.objects.get(pk=int(pk))
    except (Channel.DoesNotExist, ValueError):
        raise HeraldError(f"No channel {str(pk)[:20]!r}.") from None


def access_subscriber_by_id(pk: int | str) -> Subscriber:
    try:
        return Subscriber.objects.select_related("channel").get(pk=int(pk))
    except (Subscriber.DoesNotExist, ValueError):
        raise HeraldError(f"No subscriber {str(pk)[:20]!r}.") from None


def mask_url(url: str) -> str:
    """Where a URL goes, without what makes it a credential.

    A Slack incoming-webhook URL is its own secret, and webhook URLs often carry
    a token in their path or query: show the scheme and host, then the last four
    characters of a long remainder, enough to tell two hooks apart.
    """
    try:
        parts = urlsplit((url or "").strip())
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        parts, port = urlsplit(""), ""
    if not parts.scheme or not parts.hostname:
        return "(not a URL)" if url else ""
    shown = f"{parts.scheme}://{parts.hostname}{port}"
    # Userinfo (user:password@) is left out with the rest.
    rest = parts.path + (f"?{parts.query}" if parts.query else "")
    if rest.strip("/"):
        shown += "/…" + (rest[-4:] if len(rest) >= 16 else "")
    return shown


def _mask_smtp_url(url: str) -> str:
    """The server and login of an SMTP URL; its password never."""
    try:
        parts = urlsplit(url.strip())
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(not a URL)"
    secret = ":••••" if parts.password else ""
    login = f"{parts.username}{secret}@" if parts.username else ""
    return f"{parts.scheme}://{login}{parts.hostname or ''}{port}"


def masked_config(channel: Channel) -> list[tuple[str, str]]:
    """A channel's settings as the desk shows them: addresses, never a secret in full."""
    config: dict[str, Any] = channel.config if isinstance(channel.config, dict) else {}
    if channel.kind == Channel.Kind.EMAIL:
        to = config.get("to") or []
        rows = [("To", ", ".join(map(str, to)) if isinstance(to, list) else str(to))]
        if config.get("from"):
            rows.append(("From", str(config["from"])))
        if config.get("smtp_url"):
            rows.append(("SMTP server", _mask_smtp_url(str(config["smtp_url"]))))
        return rows
    rows = [("URL", mask_url(str(config.get("url") or "")))]
    if channel.kind == Channel.Kind.WEBHOOK:
        signed = "set (hidden)" if config.get("secret") else "none: requests are not signed"
        rows.append(("Signing secret", signed))
    return rows


def internal_channel_names() -> set[str]:
    return set(VendorProfile.get().internal_channels or [])


def channel_rows(channels: Sequence[Channel]) -> list[dict[str, object]]:
    """Each channel with its masked settings, whether it is internal, and its last delivery.

    Two queries whatever the number of channels: the newest delivery id of each
    (served by the channel index), then those deliveries.
    """
    internal = internal_channel_names()
    newest = dict(
        Channel.objects.filter(pk__in=[c.pk for c in channels])
        .annotate(
            last_id=Subquery(
                Delivery.objects.filter(channel=OuterRef("pk")).order_by("-id").values("id")[:1]
            )
        )
        .values_list("pk", "last_id")
    )
    last = Delivery.objects.only("id", "status", "created_at", "sent_at", "last_error").in_bulk(
        [pk for pk in newest.values() if pk is not None]
    )
    return [
        {
            "channel": c,
            "internal": c.name in internal,
            "config": masked_config(c),
            "last": last.get(newest.get(c.pk) or 0),
        }
        for c in channels
    ]


def subscribable_channels() -> QuerySet[Channel]:
    """Slack and webhook channels a staff-added subscriber can use.

    Enabled, not internal (those hear advisories already) and without an active
    or pending subscriber, so no system is told the same advisory twice.
    """
    taken = Subscriber.objects.exclude(status=Subscriber.Status.UNSUBSCRIBED).filter(
        channel__isnull=False
    )
    return (
        Channel.objects.filter(enabled=True)
        .exclude(kind=Channel.Kind.EMAIL)
        .exclude(name__in=internal_channel_names())
        .exclude(pk__in=taken.values("channel_id"))
    )


def subscribers(status: str = "") -> QuerySet[Subscriber]:
    """Newest first, optionally of one status, with what the list shows of each."""
    queryset = Subscriber.objects.select_related("channel").prefetch_related("products")
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-created_at", "-id")
