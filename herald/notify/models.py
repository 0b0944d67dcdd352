"""Who is told what: channels, subscribers, customers, campaigns, and the delivery outbox.

Every message to a person or a system is a ``Delivery`` row, written in the same
transaction as the change that caused it (STYLE.md "Side effects are rows") and
claimed by a worker (``herald.notify.delivery``). Only the actions in
``herald.notify.actions`` and the delivery engine write these tables.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from herald.advisories.models import Advisory, Affected, Revision
from herald.core.models import Product
from herald.incidents.models import Severity

SEVERITY_ORDER = {
    "": 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


class Event(models.TextChoices):
    """What an internal channel can be told of."""

    INCIDENT_DECLARED = "incident.declared", "Incident declared"
    ADVISORY_PUBLISHED = "advisory.published", "Advisory published"
    ADVISORY_UPDATED = "advisory.updated", "Advisory updated"


class Channel(models.Model):
    """A configured destination: an e-mail list, a Slack incoming webhook, a generic webhook.

    ``config`` is parsed and validated by the channel kind's plug-in
    (``herald.notify.channels``). Internal channels are the ones named in
    ``VendorProfile.internal_channels``; the others serve staff-added subscribers.
    """

    class Kind(models.TextChoices):
        EMAIL = "email", "E-mail"
        SLACK = "slack", "Slack"
        WEBHOOK = "webhook", "Webhook"
        # Deliveries to a service rather than channels a person configures: each
        # is sent by the app that registers its kind (herald.cna: CVE Services).
        CVE = "cve", "CVE Services"
        GITHUB = "github", "GitHub"

    name = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    config = models.JSONField(default=dict, blank=True)
    events = models.JSONField(default=list, blank=True, help_text="Event values; empty: all.")
    enabled = models.BooleanField(default=True)
    disabled_reason = models.TextField(blank=True)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    def hears(self, event: str) -> bool:
        return not self.events or event in self.events


# Deliveries to a service, written by the app that owns them; never a channel a
# person adds (desk form, `herald channel add`).
SERVICE_KINDS = (Channel.Kind.CVE, Channel.Kind.GITHUB)


class Subscriber(models.Model):
    """Someone outside who asked to hear of advisories, or a system staff added."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for confirmation"
        ACTIVE = "active", "Active"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"

    email = models.EmailField(blank=True)
    channel = models.ForeignKey(
        Channel,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subscribers",
        help_text="Slack or webhook subscribers, added by staff.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    products = models.ManyToManyField(Product, blank=True, help_text="Empty: every product.")
    min_severity = models.CharField(max_length=16, choices=Severity.choices, blank=True)
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["email"], condition=~Q(email=""), name="subscriber_email_unique"
            )
        ]

    def __str__(self) -> str:
        return self.email or str(self.channel)

    def wants(self, severity: str, product_ids: set[int]) -> bool:
        """Whether an advisory of this severity about these products passes the filters."""
        # An advisory without a severity yet is shown to everyone: better told than not.
        if severity and SEVERITY_ORDER.get(severity, 0) < SEVERITY_ORDER.get(self.min_severity, 0):
            return False
        wanted = {p.pk for p in self.products.all()}
        return not wanted or bool(wanted & product_ids)


class Customer(models.Model):
    """An organisation using the vendor's products, told directly when it is affected."""

    external_id = models.CharField(max_length=100, unique=True, help_text="The CRM's key.")
    name = models.CharField(max_length=300)
    region = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    email = models.EmailField()
    name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["customer", "email"]
        constraints = [models.UniqueConstraint(fields=["customer", "email"], name="contact_unique")]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


class Deployment(models.Model):
    """A product in use by a customer: where it runs and which version."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="deployments")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="deployments")
    kind = models.CharField(max_length=16, choices=Affected.Deployment.choices)
    region = models.CharField(max_length=32, blank=True)
    version = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["customer", "product", "id"]

    def __str__(self) -> str:
        where = " ".join(x for x in (self.kind, self.region, self.version) if x)
        return f"{self.product} ({where})"


class Campaign(models.Model):
    """Outreach to the customers an advisory affects (DESIGN.md rule 4)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Awaiting approval"
        APPROVED = "approved", "Approved"
        SENT = "sent", "Sent"
        CANCELLED = "cancelled", "Cancelled"

    advisory = models.ForeignKey(Advisory, on_delete=models.PROTECT, related_name="campaigns")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    subject = models.CharField(max_length=300)
    body = models.TextField(help_text="Plain text, the same for every recipient.")
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.CharField(max_length=200, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Campaign {self.pk} for {self.advisory.identifier}"


class CampaignRecipient(models.Model):
    """One contact the campaign will tell, and why their organisation was selected."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, related_name="+")
    email = models.EmailField()
    reason = models.TextField()

    class Meta:
        ordering = ["customer__name", "email"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "email"], name="campaign_recipient_unique")
        ]

    def __str__(self) -> str:
        return self.email


class Message(models.Model):
    """What is said, once: the shared, pre-rendered part of every delivery of it."""

    class Source(models.TextChoices):
        INCIDENT = "incident", "Incident declared"
        REVISION = "revision", "Advisory revision"
        CAMPAIGN = "campaign", "Outreach campaign"
        CONFIRMATION = "confirmation", "Subscription confirmation"
        TEST = "test", "Test"
        REPORT = "report", "Mail to a reporter"
        CVE = "cve", "CVE record"
        GITHUB = "github", "GitHub"

    source = models.CharField(max_length=16, choices=Source.choices)
    key = models.CharField(max_length=200, unique=True, help_text="What caused it, stable.")
    subject = models.CharField(max_length=300)
    text = models.TextField(help_text="Plain text for e-mail and chat.")
    data = models.JSONField(default=dict, help_text="Structured payload for webhooks.")
    link = models.URLField(max_length=500, blank=True)
    headers = models.JSONField(
        default=dict, blank=True, help_text="Extra e-mail headers (threading, Reply-To)."
    )
    advisory = models.ForeignKey(
        Advisory, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revision = models.ForeignKey(
        Revision, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, null=True, blank=True, related_name="messages"
    )
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.subject


class Delivery(models.Model):
    """One message to one recipient over one channel, and what became of it.

    ``next_attempt_at`` is when a worker may next take the row: the due time
    while pending or failed, the end of the worker's lease while sending (so a
    worker that dies mid-send leaves rows that come due again by themselves).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed, will retry"
        DEAD = "dead", "Dead"

    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="deliveries")
    kind = models.CharField(max_length=16, choices=Channel.Kind.choices)
    channel = models.ForeignKey(
        Channel, on_delete=models.PROTECT, null=True, blank=True, related_name="deliveries"
    )
    recipient = models.CharField(max_length=500, help_text="Address or URL.")
    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="deliveries"
    )
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, null=True, blank=True, related_name="deliveries"
    )
    idempotency_key = models.CharField(max_length=200, unique=True)
    rfc_message_id = models.CharField(max_length=200, help_text="RFC 5322 Message-ID, stable.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_by = models.CharField(max_length=64, blank=True)
    last_error = models.TextField(blank=True)
    response = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # Workers claim by due time among unfinished rows only: without the
            # partial index every claim scans past all finished rows.
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_due_idx",
                condition=Q(status__in=["pending", "failed", "sending"]),
            ),
            models.Index(fields=["campaign", "status"], name="delivery_campaign_idx"),
            # The desk lists failed and dead rows; a row on its way from pending to
            # sent never enters this index, so sending does not maintain it.
            models.Index(
                fields=["status", "id"],
                name="delivery_trouble_idx",
                condition=Q(status__in=["failed", "dead"]),
            ),
        ]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient}: {self.status}"


class DeliveryAttempt(models.Model):
    """History of one delivery: failures, lost workers, re-drives. Success is on the row."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField()
    outcome = models.CharField(max_length=32)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery", "at", "id"]

    def __str__(self) -> str:
        return f"{self.outcome} at {self.at:%Y-%m-%d %H:%M:%S}"
