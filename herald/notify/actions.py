"""Every write to notifications: channels, subscribers, customers, campaigns, deliveries.

Each action is atomic, audited, and writes its ``Delivery`` rows in the same
transaction as the change that caused them; the worker is kicked after the
commit. ``fanout_incident`` and ``fanout_revision`` run inside the incident's
or the advisory's own transaction (wired to ``post_save`` in ``apps.py``), so a
declaration or a revision and the messages announcing it commit together or
not at all.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from herald.accounts import access
from herald.advisories.models import Advisory, Affected, Revision
from herald.advisories.snapshot import (
    AdvisorySnapshot,
    affected_snapshot,
    row_regions,
    snapshot_of,
)
from herald.audit.actions import actor_label, is_service_account, record
from herald.core.errors import HeraldError, ValidationError
from herald.core.models import Product, VendorProfile
from herald.core.throttle import check_rate
from herald.incidents.models import Incident, Severity
from herald.notify import conf, render
from herald.notify.channels import check_email, kind_of
from herald.notify.models import (
    SERVICE_KINDS,
    Campaign,
    CampaignRecipient,
    Channel,
    Contact,
    Customer,
    Delivery,
    DeliveryAttempt,
    Deployment,
    Event,
    Message,
    Subscriber,
)
from herald.notify.outbox import Target, _kick, write_message
from herald.notify.scope import verdict

# ---------------------------------------------------------------- links and outbox


def _url(name: str, identifier: str, fallback: str) -> str:
    try:
        path = reverse(name, args=[identifier])
    except NoReverseMatch:
        path = fallback
    return conf.base_url() + path


def public_advisory_url(identifier: str) -> str:
    return _url("web:public_advisory", identifier, f"/security/advisories/{identifier}/")


def desk_incident_url(identifier: str) -> str:
    return _url("web:incident_detail", identifier, f"/desk/incidents/{identifier}/")


def _channel_targets(channel: Channel, key: str) -> list[Target]:
    """A channel's recipients: every address of an e-mail list, the URL of the others."""
    try:
        config = kind_of(channel.kind).parse_config(channel.config)
    except ValidationError:
        # Recorded as one dead delivery below rather than silently skipped: the
        # desk then shows that this channel missed the message.
        return [Target(channel.kind, str(channel.config.get("url", "")), key, channel)]
    return [
        Target(channel.kind, recipient, recipient_key, channel)
        for recipient, recipient_key in kind_of(channel.kind).recipients(config, key)
    ]


def internal_channels(event: str) -> list[Channel]:
    names = VendorProfile.get().internal_channels or []
    channels = Channel.objects.filter(name__in=names, enabled=True)
    return [c for c in channels if c.hears(event)]


# ---------------------------------------------------- fan-out (in the cause's transaction)


def fanout_incident(incident: Incident) -> Message | None:
    """Tell the internal channels of a declaration, by a person or automatic (rule 1)."""
    channels = internal_channels(Event.INCIDENT_DECLARED)
    if not channels:
        return None
    rendered = render.incident_declared(
        identifier=incident.identifier,
        title=incident.title,
        severity=incident.severity,
        declared_by=incident.declared_by,
        reason=incident.declared_reason,
        auto=incident.auto_declared,
        link=desk_incident_url(incident.identifier),
    )
    key = f"incident:{incident.pk}"
    targets = [t for c in channels for t in _channel_targets(c, f"{key}:channel:{c.pk}")]
    return write_message(
        source=Message.Source.INCIDENT, key=key, rendered=rendered, targets=targets
    )


def fanout_revision(revision: Revision) -> Message | None:
    """Tell internal channels and matching subscribers of a public revision."""
    snapshot = AdvisorySnapshot.from_dict(revision.snapshot)
    event = Event.ADVISORY_PUBLISHED if revision.kind == "published" else Event.ADVISORY_UPDATED
    key = f"revision:{revision.pk}"
    targets = [
        t for c in internal_channels(event) for t in _channel_targets(c, f"{key}:channel:{c.pk}")
    ]
    slugs = {a.product_slug for a in snapshot.affected}
    product_ids = set(Product.objects.filter(slug__in=slugs).values_list("pk", flat=True))
    subscribers = (
        Subscriber.objects.filter(status=Subscriber.Status.ACTIVE)
        .select_related("channel")
        .prefetch_related("products")
    )
    for sub in subscribers:
        if not sub.wants(snapshot.severity, product_ids):
            continue
        sub_key = f"{key}:subscriber:{sub.pk}"
        if sub.channel is not None:
            if sub.channel.enabled:
                targets += [
                    Target(t.kind, t.recipient, t.key, t.channel, subscriber=sub)
                    for t in _channel_targets(sub.channel, sub_key)
                ]
        elif sub.email:
            targets.append(Target(Channel.Kind.EMAIL, sub.email, sub_key, subscriber=sub))
    if not targets:
        return None
    rendered = render.advisory_revision(
        snapshot,
        kind=revision.kind,
        number=revision.number,
        summary=revision.summary,
        link=public_advisory_url(snapshot.identifier),
    )
    return write_message(
        source=Message.Source.REVISION,
        key=key,
        rendered=rendered,
        targets=targets,
        advisory=revision.advisory,
        revision=revision,
    )


# ---------------------------------------------------------------- channels


def do_create_channel(
    *,
    name: str,
    kind: str,
    config: dict[str, Any],
    events: Sequence[str] = (),
    internal: bool = False,
    acting_user: AbstractBaseUser | None,
) -> Channel:
    """Add a channel; ``internal`` also names it in the vendor's internal channels."""
    if kind in SERVICE_KINDS:
        raise ValidationError({"kind": f"{kind!r} is a service Herald sends to, not a channel."})
    plugin = kind_of(kind)
    plugin.parse_config(config)
    unknown = [e for e in events if e not in Event.values]
    if unknown:
        raise ValidationError(
            {"events": f"Unknown event(s) {', '.join(unknown)}; use {', '.join(Event.values)}."}
        )
    slug = (name or "").strip().lower()
    if not slug or not all(c.isalnum() or c in "-_" for c in slug):
        raise ValidationError({"name": "Use letters, digits, - and _ for a channel's name."})
    who = actor_label(acting_user)
    with transaction.atomic():
        if Channel.objects.filter(name=slug).exists():
            raise ValidationError({"name": f"A channel named {slug!r} exists already."})
        channel = Channel.objects.create(
            name=slug,
            kind=kind,
            config=config,
            events=list(events),
            created_at=timezone.now(),
            created_by=who,
        )
        if internal:
            profile = VendorProfile.objects.select_for_update().get(pk=VendorProfile.get().pk)
            names = list(profile.internal_channels or [])
            if slug not in names:
                profile.internal_channels = [*names, slug]
                profile.save(update_fields=["internal_channels", "updated_at"])
        record(
            acting_user=acting_user,
            actor=who,
            action="channel.create",
            obj=channel,
            object_id=slug,
            after={"kind": kind, "events": list(events), "internal": internal},
        )
    return channel


def do_send_test_message(channel: Channel, *, acting_user: AbstractBaseUser | None) -> Message:
    """A test message to a channel, to check its configuration from the desk or CLI."""
    who = actor_label(acting_user)
    with transaction.atomic():
        key = f"test:{channel.pk}:{secrets.token_hex(8)}"
        rendered = render.Rendered(
            subject=f"Herald test message to {channel.name}",
            text=f"{who} sent this test message to check the channel {channel.name}.",
            data={"event": "test", "channel": channel.name},
        )
        message = write_message(
            source=Message.Source.TEST,
            key=key,
            rendered=rendered,
            targets=_channel_targets(channel, key),
        )
        record(acting_user=acting_user, actor=who, action="channel.test", obj=channel,
               object_id=channel.name)  # fmt: skip
    return message


def _check_may(acting_user: AbstractBaseUser | None, permission: str, what: str) -> None:
    """Refuse a person whose role lacks ``permission``; the CLI without ``--as`` may."""
    # The service account (or None) is the installation's operator at its shell.
    if (
        acting_user is not None
        and not is_service_account(acting_user)
        and not access.can(acting_user, permission)
    ):
        raise HeraldError(f"{actor_label(acting_user)} may not {what}.")


def check_channel_enabled(channel: Channel) -> None:
    """A disabled channel is sent nothing, test messages included: enable it first."""
    if not channel.enabled:
        raise ValidationError({"channel": f"{channel.name} is disabled; enable it first."})


def do_set_channel_enabled(
    channel: Channel, *, enabled: bool, reason: str = "", acting_user: AbstractBaseUser | None
) -> Channel:
    """Disable a channel (saying why) or enable it again; a disabled one is told nothing."""
    _check_may(acting_user, "channel.manage", "disable or enable a channel")
    reason = " ".join((reason or "").split())
    if not enabled and not reason:
        raise ValidationError({"reason": "Say why the channel is disabled."})
    with transaction.atomic():
        channel = Channel.objects.select_for_update().get(pk=channel.pk)
        if channel.enabled == enabled:
            state = "enabled" if enabled else "disabled"
            raise HeraldError(f"{channel.name} is already {state}.")
        before = {"enabled": channel.enabled, "reason": channel.disabled_reason}
        channel.enabled = enabled
        channel.disabled_reason = "" if enabled else reason[:1000]
        channel.save(update_fields=["enabled", "disabled_reason"])
        record(
            acting_user=acting_user,
            action="channel.enable" if enabled else "channel.disable",
            obj=channel,
            object_id=channel.name,
            before=before,
            after={"enabled": channel.enabled, "reason": channel.disabled_reason},
        )
    return channel


# ---------------------------------------------------------------- subscribers


def _check_subscription(products: Iterable[str], min_severity: str) -> tuple[list[Product], str]:
    errors: dict[str, list[str]] = {}
    wanted: list[Product] = []
    for ref in products:
        product = Product.objects.filter(slug=str(ref).strip()).first()
        if product is None:
            errors.setdefault("products", []).append(f"Unknown product {str(ref)[:60]!r}.")
        else:
            wanted.append(product)
    severity = (min_severity or "").strip().lower()
    if severity and severity not in Severity.values:
        errors.setdefault("min_severity", []).append(
            f"Unknown severity {severity!r}; use {', '.join(Severity.values)}."
        )
    if errors:
        raise ValidationError(errors)
    return wanted, severity


def _confirmation(subscriber: Subscriber) -> None:
    base = conf.base_url()
    link = f"{base}/security/subscribe/confirm/{subscriber.token}/"
    vendor = VendorProfile.get().name
    rendered = render.Rendered(
        subject=f"Confirm your subscription to {vendor} security advisories",
        text=(
            f"Someone, probably you, asked to receive security advisories from {vendor} at "
            f"this address.\n\nConfirm it here: {link}\n\n"
            "If it was not you, ignore this message: nothing will be sent without "
            "confirmation."
        ),
        data={"event": "subscription.confirm"},
        link=link,
    )
    # One confirmation message per subscriber and day: repeating the sign-up form
    # cannot be used to flood someone's mailbox.
    key = f"confirm:{subscriber.pk}:{timezone.now():%Y-%m-%d}"
    write_message(
        source=Message.Source.CONFIRMATION,
        key=key,
        rendered=rendered,
        targets=[Target(Channel.Kind.EMAIL, subscriber.email, key)],
    )


def do_subscribe(
    email: str,
    *,
    products: Iterable[str] = (),
    min_severity: str = "",
    ip: str | None = None,
) -> Subscriber:
    """Public sign-up: a pending subscriber and the confirmation e-mail (double opt-in).

    The answer is the same whether the address was new, pending or active, so
    the form does not reveal who subscribes. One client (``ip``) may sign up so
    many addresses an hour (``RateLimited`` past it, counted before validation as
    the report intake counts), and one address gets at most one confirmation a day.
    """
    if ip:
        check_rate("subscribe", ip, conf.subscribe_rate_per_ip(), what="sign-ups")
    address = check_email(email).lower()
    wanted, severity = _check_subscription(products, min_severity)
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(email=address).first()
        if subscriber is None:
            subscriber = Subscriber.objects.create(
                email=address,
                token=secrets.token_urlsafe(32),
                min_severity=severity,
                created_at=timezone.now(),
            )
            subscriber.products.set(wanted)
        elif subscriber.status == Subscriber.Status.UNSUBSCRIBED:
            subscriber.status = Subscriber.Status.PENDING
            subscriber.min_severity = severity
            subscriber.save(update_fields=["status", "min_severity"])
            subscriber.products.set(wanted)
        if subscriber.status == Subscriber.Status.PENDING:
            _confirmation(subscriber)
        record(
            acting_user=None,
            actor="public",
            action="subscriber.subscribe",
            obj=subscriber,
            after={"status": subscriber.status},
        )
    return subscriber


def access_subscriber_by_token(token: str) -> Subscriber:
    subscriber = Subscriber.objects.filter(token=token).first() if token else None
    if subscriber is None:
        raise HeraldError("This link is not valid (any more).")
    return subscriber


def do_confirm_subscription(token: str) -> Subscriber:
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(
            pk=access_subscriber_by_token(token).pk
        )
        if subscriber.status != Subscriber.Status.ACTIVE:
            subscriber.status = Subscriber.Status.ACTIVE
            subscriber.confirmed_at = timezone.now()
            subscriber.unsubscribed_at = None
            subscriber.save(update_fields=["status", "confirmed_at", "unsubscribed_at"])
            record(acting_user=None, actor="public", action="subscriber.confirm", obj=subscriber)
    return subscriber


def do_update_subscription(token: str, *, products: Iterable[str], min_severity: str) -> Subscriber:
    wanted, severity = _check_subscription(products, min_severity)
    with transaction.atomic():
        subscriber = access_subscriber_by_token(token)
        subscriber.min_severity = severity
        subscriber.save(update_fields=["min_severity"])
        subscriber.products.set(wanted)
        record(
            acting_user=None,
            actor="public",
            action="subscriber.update",
            obj=subscriber,
            after={"products": [p.slug for p in wanted], "min_severity": severity},
        )
    return subscriber


def do_unsubscribe(token: str) -> Subscriber:
    """One-click unsubscribe (RFC 8058): idempotent, and undoes nothing else."""
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(
            pk=access_subscriber_by_token(token).pk
        )
        if subscriber.status != Subscriber.Status.UNSUBSCRIBED:
            subscriber.status = Subscriber.Status.UNSUBSCRIBED
            subscriber.unsubscribed_at = timezone.now()
            subscriber.save(update_fields=["status", "unsubscribed_at"])
            record(
                acting_user=None, actor="public", action="subscriber.unsubscribe", obj=subscriber
            )
    return subscriber


def do_add_channel_subscriber(
    channel: Channel,
    *,
    products: Iterable[str] = (),
    min_severity: str = "",
    acting_user: AbstractBaseUser | None,
) -> Subscriber:
    """A Slack or webhook subscriber, added by staff: active at once, no opt-in to wait for."""
    if channel.kind == Channel.Kind.EMAIL:
        raise ValidationError({"channel": "E-mail subscribers sign up themselves (double opt-in)."})
    wanted, severity = _check_subscription(products, min_severity)
    with transaction.atomic():
        now = timezone.now()
        subscriber = Subscriber.objects.create(
            channel=channel,
            status=Subscriber.Status.ACTIVE,
            token=secrets.token_urlsafe(32),
            min_severity=severity,
            created_at=now,
            confirmed_at=now,
        )
        subscriber.products.set(wanted)
        record(
            acting_user=acting_user,
            action="subscriber.add",
            obj=subscriber,
            after={"channel": channel.name, "products": [p.slug for p in wanted],
                   "min_severity": severity},
        )  # fmt: skip
    return subscriber


def do_remove_subscriber(
    subscriber: Subscriber, *, acting_user: AbstractBaseUser | None
) -> Subscriber:
    """Staff unsubscribe someone (on request, or a webhook that is gone); audited as them.

    Like the one-click unsubscribe, the row stays, unsubscribed: its deliveries
    keep their history, and an e-mail address can sign up again.
    """
    _check_may(acting_user, "desk.work", "remove a subscriber")
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if subscriber.status == Subscriber.Status.UNSUBSCRIBED:
            raise HeraldError(f"{subscriber} is already unsubscribed.")
        before = {"status": subscriber.status}
        subscriber.status = Subscriber.Status.UNSUBSCRIBED
        subscriber.unsubscribed_at = timezone.now()
        subscriber.save(update_fields=["status", "unsubscribed_at"])
        record(
            acting_user=acting_user,
            action="subscriber.remove",
            obj=subscriber,
            before=before,
            after={"status": subscriber.status},
        )
    return subscriber


# ---------------------------------------------------------------- customers


@dataclass
class CustomerData:
    """One customer as a file or the API describes it; contacts and deployments replace the old."""

    external_id: str
    name: str
    region: str = ""
    contacts: list[dict[str, str]] | None = None
    deployments: list[dict[str, Any]] | None = None


def do_import_customers(
    customers: Sequence[CustomerData], *, acting_user: AbstractBaseUser | None, source: str = ""
) -> dict[str, int]:
    """Create or update customers by external id, all in one transaction.

    The data is already checked (``herald.notify.customer_files``); a customer
    given here gets exactly the contacts and deployments given, so a re-import
    of the CRM's export keeps Herald in sync.
    """
    who = actor_label(acting_user)
    products = {p.slug: p for p in Product.objects.all()}
    counts = {"created": 0, "updated": 0, "contacts": 0, "deployments": 0}
    with transaction.atomic():
        now = timezone.now()
        for data in customers:
            customer = (
                Customer.objects.select_for_update().filter(external_id=data.external_id).first()
            )
            if customer is None:
                customer = Customer.objects.create(
                    external_id=data.external_id,
                    name=data.name,
                    region=data.region,
                    created_at=now,
                    updated_at=now,
                )
                counts["created"] += 1
            else:
                customer.name, customer.region, customer.updated_at = data.name, data.region, now
                customer.save(update_fields=["name", "region", "updated_at"])
                counts["updated"] += 1
            if data.contacts is not None:
                customer.contacts.all().delete()
                Contact.objects.bulk_create(
                    Contact(customer=customer, email=c["email"], name=c.get("name", ""),
                            role=c.get("role", ""))
                    for c in data.contacts
                )  # fmt: skip
                counts["contacts"] += len(data.contacts)
            if data.deployments is not None:
                customer.deployments.all().delete()
                Deployment.objects.bulk_create(
                    Deployment(customer=customer, product=products[d["product"]], kind=d["kind"],
                               region=d.get("region", ""), version=d.get("version", ""))
                    for d in data.deployments
                )  # fmt: skip
                counts["deployments"] += len(data.deployments)
        record(
            acting_user=acting_user,
            actor=who,
            action="customer.import",
            object_type="notify.customer",
            object_id=source[:100],
            after=counts,
        )
    return counts


# ---------------------------------------------------------------- campaigns (rule 4)


@dataclass(frozen=True)
class Match:
    customer: Customer
    reasons: tuple[str, ...]


def _region_rule(row: Affected, advisory_regions: Sequence[str]) -> list[str]:
    return row_regions(row.region, advisory_regions)


def affected_customers(advisory: Advisory) -> list[Match]:
    """The customers the advisory's scope selects, each with the reasons why.

    The one selection rule (the campaign, the desk's publish plan): for each
    vulnerability, its own product rows and the shared ones (no vulnerability) of the
    deployment's product and kind whose region takes the deployment's (the row's, else
    the advisory's regions) decide by status and version (``herald.notify.scope``):
    not affected or fixed for the customer's version is not told. An unknown region or
    version matches: better told than missed. Each reason names the vulnerability.
    """
    rows = list(advisory.affected.select_related("product").all())
    vulns = list(advisory.vulnerabilities.all())
    regions = list(advisory.affected_regions or [])
    deployments = Deployment.objects.select_related("customer", "product")
    if rows:
        deployments = deployments.filter(product__in={r.product_id for r in rows})
    elif regions:
        # No affected rows but named regions: everyone deployed in those regions.
        deployments = deployments.filter(region__in=regions)
    else:
        return []
    shared = [r for r in rows if r.vulnerability_id is None]
    own: dict[int, list[Affected]] = {}
    for r in rows:
        if r.vulnerability_id is not None:
            own.setdefault(r.vulnerability_id, []).append(r)
    # (label, rows) per vulnerability; an advisory without any has its shared rows.
    scopes: list[tuple[str, list[Affected]]] = [
        (v.cve_id or v.title or f"vulnerability {i}", own.get(v.pk, []) + shared)
        for i, v in enumerate(vulns, start=1)
    ] or [("", shared)]
    snaps = {r.pk: affected_snapshot(r) for r in rows}
    reasons: dict[int, list[str]] = {}
    customers: dict[int, Customer] = {}
    for dep in deployments.order_by("customer__name", "id"):
        where = " ".join(
            x
            for x in (
                dep.get_kind_display(),
                f"in {dep.region}" if dep.region else "",
                f"version {dep.version}" if dep.version else "",
            )
            if x
        )
        found: list[str] = []
        if not rows:
            found.append(f"{dep.product.name} {where}: the advisory names region {dep.region}")
        for label, scope in scopes:
            mine = [
                r
                for r in scope
                if r.product_id == dep.product_id
                and r.deployment == dep.kind
                and not (
                    dep.region
                    and _region_rule(r, regions)
                    and dep.region not in _region_rule(r, regions)
                )
            ]
            hit = verdict([snaps[r.pk] for r in mine], dep.version)
            if hit is None:
                continue
            row = next(r for r in mine if snaps[r.pk] is hit.row)
            status = row.get_status_display().lower()
            notes = [f"{label + ' ' if label else ''}{status}: "
                     f"{row.get_deployment_display()} {row.version_range}"]  # fmt: skip
            rule = _region_rule(row, regions)
            if rule:
                notes.append(f"regions {', '.join(rule)}")
            if rule and not dep.region:
                notes.append("customer's region not recorded")
            if hit.note:
                notes.append(hit.note)
            found.append(f"{dep.product.name} {where} matches " + "; ".join(notes))
        if found:
            customers[dep.customer_id] = dep.customer
            reasons.setdefault(dep.customer_id, []).extend(found)
    return [Match(customers[pk], tuple(reasons[pk])) for pk in customers]


def _fill_recipients(campaign: Campaign) -> int:
    campaign.recipients.all().delete()
    matches = affected_customers(campaign.advisory)
    contacts: dict[int, list[Contact]] = {}
    for contact in Contact.objects.filter(customer__in=[m.customer for m in matches]):
        contacts.setdefault(contact.customer_id, []).append(contact)
    rows = [
        CampaignRecipient(
            campaign=campaign,
            customer=m.customer,
            contact=c,
            email=c.email,
            reason="\n".join(m.reasons),
        )
        for m in matches
        for c in contacts.get(m.customer.pk, [])
    ]
    CampaignRecipient.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return len(rows)


def create_outreach_campaign(advisory: Advisory, *, who: str) -> Campaign:
    """The campaign rule 4 requires, created inside the publishing transaction.

    It waits for a person to approve and send it; nothing is mailed yet.
    """
    snapshot = snapshot_of(advisory, with_history=False)
    subject, body = render.campaign_default(
        snapshot,
        vendor=VendorProfile.get().name,
        link=public_advisory_url(advisory.identifier),
    )
    campaign = Campaign.objects.create(
        advisory=advisory, subject=subject, body=body, created_at=timezone.now(), created_by=who
    )
    count = _fill_recipients(campaign)
    record(
        acting_user=None,
        actor=who,
        action="campaign.create",
        obj=campaign,
        object_id=str(campaign.pk),
        after={"advisory": advisory.identifier, "recipients": count},
    )
    return campaign


def do_create_campaign(advisory: Advisory, *, acting_user: AbstractBaseUser | None) -> Campaign:
    """A further campaign for a public advisory (for example after its scope grew)."""
    if not advisory.is_public:
        # An embargoed advisory reaches no one outside (rule 3).
        raise HeraldError(f"{advisory.identifier} is not published; outreach waits for it.")
    with transaction.atomic():
        return create_outreach_campaign(advisory, who=actor_label(acting_user))


def _lock_campaign(campaign: Campaign, *allowed: str) -> Campaign:
    locked = Campaign.objects.select_for_update().select_related("advisory").get(pk=campaign.pk)
    if locked.status not in allowed:
        raise HeraldError(f"Campaign {locked.pk} is {locked.get_status_display().lower()}.")
    return locked


def do_edit_campaign(
    campaign: Campaign, *, subject: str, body: str, acting_user: AbstractBaseUser | None
) -> Campaign:
    if not subject.strip() or not body.strip():
        raise ValidationError({"body": "The message needs a subject and a text."})
    with transaction.atomic():
        campaign = _lock_campaign(campaign, Campaign.Status.DRAFT)
        before = {"subject": campaign.subject, "body": campaign.body}
        campaign.subject, campaign.body = " ".join(subject.split())[:300], body.strip()
        campaign.save(update_fields=["subject", "body"])
        record(acting_user=acting_user, action="campaign.edit", obj=campaign,
               object_id=str(campaign.pk), before=before,
               after={"subject": campaign.subject, "body": campaign.body})  # fmt: skip
    return campaign


def do_refresh_campaign(campaign: Campaign, *, acting_user: AbstractBaseUser | None) -> int:
    """Select the recipients again from the current customers and the advisory's scope."""
    with transaction.atomic():
        campaign = _lock_campaign(campaign, Campaign.Status.DRAFT)
        count = _fill_recipients(campaign)
        record(acting_user=acting_user, action="campaign.refresh", obj=campaign,
               object_id=str(campaign.pk), after={"recipients": count})  # fmt: skip
    return count


def do_approve_campaign(campaign: Campaign, *, acting_user: AbstractBaseUser | None) -> Campaign:
    who = actor_label(acting_user)
    with transaction.atomic():
        campaign = _lock_campaign(campaign, Campaign.Status.DRAFT)
        campaign.status = Campaign.Status.APPROVED
        campaign.approved_at = timezone.now()
        campaign.approved_by = who
        campaign.save(update_fields=["status", "approved_at", "approved_by"])
        record(acting_user=acting_user, action="campaign.approve", obj=campaign,
               object_id=str(campaign.pk),
               after={"recipients": campaign.recipients.count()})  # fmt: skip
    return campaign


def do_send_campaign(campaign: Campaign, *, acting_user: AbstractBaseUser | None) -> Campaign:
    """One Delivery per recipient, written with the campaign's change to "sent"."""
    who = actor_label(acting_user)
    with transaction.atomic():
        campaign = _lock_campaign(campaign, Campaign.Status.APPROVED)
        if not campaign.advisory.is_public:
            raise HeraldError(f"{campaign.advisory.identifier} is not public.")
        now = timezone.now()
        key = f"campaign:{campaign.pk}"
        recipients = campaign.recipients.values_list("email", "customer_id")
        write_message(
            source=Message.Source.CAMPAIGN,
            key=key,
            rendered=render.Rendered(
                subject=campaign.subject,
                text=campaign.body,
                data={"event": "campaign", "advisory": campaign.advisory.identifier},
                link=public_advisory_url(campaign.advisory.identifier),
            ),
            targets=(
                Target(Channel.Kind.EMAIL, email, f"{key}:{email}", customer_id=customer_id)
                for email, customer_id in recipients.iterator(chunk_size=5000)
            ),
            advisory=campaign.advisory,
            campaign=campaign,
        )
        campaign.status = Campaign.Status.SENT
        campaign.sent_at = now
        campaign.sent_by = who
        campaign.save(update_fields=["status", "sent_at", "sent_by"])
        record(acting_user=acting_user, action="campaign.send", obj=campaign,
               object_id=str(campaign.pk),
               after={"deliveries": campaign.deliveries.count()})  # fmt: skip
    return campaign


def do_cancel_campaign(
    campaign: Campaign, *, reason: str, acting_user: AbstractBaseUser | None
) -> Campaign:
    if not reason.strip():
        raise ValidationError({"reason": "Say why the campaign is cancelled."})
    with transaction.atomic():
        campaign = _lock_campaign(campaign, Campaign.Status.DRAFT, Campaign.Status.APPROVED)
        campaign.status = Campaign.Status.CANCELLED
        campaign.save(update_fields=["status"])
        record(acting_user=acting_user, action="campaign.cancel", obj=campaign,
               object_id=str(campaign.pk), after={"reason": reason.strip()})  # fmt: skip
    return campaign


# ---------------------------------------------------------------- re-drive


def do_redrive(
    deliveries: Iterable[Delivery] | Any, *, acting_user: AbstractBaseUser | None
) -> int:
    """Send dead (or failing) deliveries again now, keeping their keys and Message-IDs."""
    who = actor_label(acting_user)
    ids = [d.pk if isinstance(d, Delivery) else int(d) for d in deliveries]
    with transaction.atomic():
        now = timezone.now()
        chosen = list(
            Delivery.objects.select_for_update()
            .filter(pk__in=ids, status__in=[Delivery.Status.DEAD, Delivery.Status.FAILED])
            .values_list("pk", flat=True)
        )
        Delivery.objects.filter(pk__in=chosen).update(
            status=Delivery.Status.PENDING, next_attempt_at=now, attempts=0, claimed_by=""
        )
        DeliveryAttempt.objects.bulk_create(
            DeliveryAttempt(delivery_id=pk, at=now, outcome="re-driven", detail=f"by {who}")
            for pk in chosen
        )
        record(acting_user=acting_user, actor=who, action="delivery.redrive",
               object_type="notify.delivery", object_id=",".join(map(str, chosen[:10]))[:100],
               after={"count": len(chosen)})  # fmt: skip
        if chosen:
            transaction.on_commit(_kick)
    return len(chosen)
