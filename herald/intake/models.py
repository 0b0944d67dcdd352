"""Vulnerability reports, the people who send them, and everything said about them.

A ``Report`` arrives by the web form, the API or e-mail. Its thread is a list of
``ReportMessage`` rows: what the reporter wrote, what the desk answered, the
steps it took (public events), and internal notes the reporter never sees. Only
actions in ``herald.intake.actions`` write these tables.

Raw e-mail is kept whole in ``InboundMail`` (the bytes on disk under
HERALD_HOME), so a message that cannot be parsed is never lost, and the IMAP
``Mailbox`` remembers UIDVALIDITY and the last UID so that no message is
fetched twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from herald.advisories.models import Advisory, Credit
from herald.incidents.models import Incident, Severity


class Reporter(models.Model):
    """Whoever sent a report, known by their e-mail address."""

    email = models.EmailField(max_length=254, unique=True, help_text="Lower-cased.")
    name = models.CharField(max_length=200, blank=True)
    handle = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.name or self.email


class Report(models.Model):
    class Source(models.TextChoices):
        WEB = "web", "Web form"
        EMAIL = "email", "E-mail"
        API = "api", "API"
        GITHUB = "github", "GitHub"  # imported by staff: herald.github.imports

    class State(models.TextChoices):
        NEW = "new", "New"
        NEEDS_MORE_INFO = "needs_more_info", "Needs more info"
        ACCEPTED = "accepted", "Accepted"
        DUPLICATE = "duplicate", "Duplicate"
        INFORMATIVE = "informative", "Informative"
        NOT_APPLICABLE = "not_applicable", "Not applicable"
        SPAM = "spam", "Spam"
        RESOLVED = "resolved", "Resolved"

    class CreditAs(models.TextChoices):
        """How the reporter wants to appear in the advisory."""

        NAME = "name", "My name"
        HANDLE = "handle", "My handle"
        ANONYMOUS = "anonymous", "Anonymous"

    tracking_id = models.CharField(max_length=32, unique=True)
    token = models.CharField(
        max_length=64, unique=True, help_text="The secret in the reporter's private link."
    )
    reply_token = models.CharField(
        max_length=32,
        unique=True,
        help_text="The secret in the reply address and Message-IDs; lower-case, as mail is.",
    )
    reporter = models.ForeignKey(Reporter, on_delete=models.PROTECT, related_name="reports")
    source = models.CharField(max_length=8, choices=Source.choices)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    product_hint = models.CharField(
        max_length=200, blank=True, help_text="What the reporter says is affected."
    )
    encrypted = models.BooleanField(default=False, help_text="It arrived OpenPGP-encrypted.")
    submitted_ip = models.GenericIPAddressField(null=True, blank=True)

    state = models.CharField(max_length=16, choices=State.choices, default=State.NEW)
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="duplicates"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_reports",
    )
    cvss_vector = models.CharField(max_length=400, blank=True)
    cvss_score = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    severity = models.CharField(max_length=16, choices=Severity.choices, blank=True)

    credit_as = models.CharField(max_length=16, choices=CreditAs.choices, default=CreditAs.NAME)
    # The name and handle given with this report (or later on its page). Not the
    # Reporter's: anyone can type a known address, so a report shows and credits
    # only what its own sender gave.
    credit_name = models.CharField(max_length=200, blank=True)
    credit_handle = models.CharField(max_length=100, blank=True)
    credit_type = models.CharField(
        max_length=32, choices=Credit.Type.choices, default=Credit.Type.FINDER
    )

    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.PROTECT, related_name="reports"
    )
    advisory = models.ForeignKey(
        Advisory, null=True, blank=True, on_delete=models.PROTECT, related_name="reports"
    )
    exploited_in_wild = models.BooleanField(default=False)
    disclosure_deadline = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.JSONField(
        default=list, blank=True, help_text="Days-before values already reminded, per deadline."
    )

    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    first_response_due = models.DateTimeField()
    first_responded_at = models.DateTimeField(null=True, blank=True)
    triage_due = models.DateTimeField()
    triaged_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "-created_at"]),
            models.Index(fields=["first_response_due"]),
            models.Index(fields=["triage_due"]),
        ]

    def __str__(self) -> str:
        return f"{self.tracking_id} {self.title}"

    # States after which the triage decision is made; the clock stops.
    DECIDED = frozenset(
        {
            State.ACCEPTED,
            State.DUPLICATE,
            State.INFORMATIVE,
            State.NOT_APPLICABLE,
            State.SPAM,
            State.RESOLVED,
        }
    )

    @property
    def first_response_overdue(self) -> bool:
        return self.first_responded_at is None and timezone.now() > self.first_response_due

    @property
    def triage_overdue(self) -> bool:
        return self.triaged_at is None and timezone.now() > self.triage_due

    @property
    def overdue(self) -> bool:
        return self.state != self.State.SPAM and (
            self.first_response_overdue or self.triage_overdue
        )

    @property
    def deadline_passed(self) -> bool:
        return self.disclosure_deadline is not None and timezone.now() > self.disclosure_deadline


MAIL_STATUS_DISPLAY = {
    "none": "No e-mail",
    "pending": "Pending",
    "sent": "Sent",
    "dead": "Failed for good",
}


class ReportMessage(models.Model):
    """One entry of a report's thread."""

    class Kind(models.TextChoices):
        FROM_REPORTER = "from_reporter", "From the reporter"
        TO_REPORTER = "to_reporter", "To the reporter"
        NOTE = "note", "Internal note"
        EVENT = "event", "Event"

    class Via(models.TextChoices):
        WEB = "web", "Web"
        EMAIL = "email", "E-mail"
        API = "api", "API"
        DESK = "desk", "Desk"
        SYSTEM = "system", "Herald"

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    internal = models.BooleanField(default=False, help_text="Never shown or sent to the reporter.")
    via = models.CharField(max_length=8, choices=Via.choices)
    author = models.CharField(max_length=300)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    body = models.TextField()
    created_at = models.DateTimeField()

    # For e-mail in: the sender and the Message-ID.
    email_from = models.CharField(max_length=400, blank=True)
    email_message_id = models.CharField(max_length=400, blank=True)
    # For e-mail out: the outbox row that carries the copy to the reporter.
    delivery = models.OneToOneField(
        "notify.Delivery", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.report.tracking_id} {self.kind}: {self.body[:40]}"

    @property
    def mail_status(self) -> str:
        """none, pending (retries included), sent or dead: the e-mail copy's fate."""
        if self.delivery is None:
            return "none"
        status = self.delivery.status
        return status if status in ("sent", "dead") else "pending"

    @property
    def mail_status_display(self) -> str:
        return MAIL_STATUS_DISPLAY[self.mail_status]

    @property
    def mail_last_error(self) -> str:
        return self.delivery.last_error if self.delivery is not None else ""


class Attachment(models.Model):
    """A file sent with a report, kept under HERALD_HOME and served only to staff."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(
        ReportMessage, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    filename = models.CharField(max_length=200)
    declared_type = models.CharField(max_length=200, blank=True)
    detected_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    path = models.CharField(max_length=300, help_text="Relative to the intake storage root.")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.detected_type}, {self.size} bytes)"


class InboundMail(models.Model):
    """One raw e-mail exactly as received, kept whole whatever became of it."""

    class Status(models.TextChoices):
        PROCESSED = "processed", "Processed"
        FLAGGED = "flagged", "Needs a person"
        HANDLED = "handled", "Handled by a person"

    received_at = models.DateTimeField()
    via = models.CharField(max_length=16, help_text="pipe or imap")
    mailbox = models.ForeignKey(
        "Mailbox", null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    uidvalidity = models.PositiveBigIntegerField(null=True, blank=True)
    uid = models.PositiveBigIntegerField(null=True, blank=True)
    message_id = models.CharField(max_length=400, blank=True)
    sender = models.CharField(max_length=400, blank=True)
    subject = models.CharField(max_length=400, blank=True)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    path = models.CharField(max_length=300, help_text="Relative to the intake storage root.")
    status = models.CharField(max_length=16, choices=Status.choices)
    problem = models.TextField(blank=True)
    report = models.ForeignKey(
        Report, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_mail"
    )
    handled_by = models.CharField(max_length=200, blank=True)
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "uidvalidity", "uid"], name="inboundmail_uid_once"
            )
        ]
        indexes = [models.Index(fields=["status"]), models.Index(fields=["message_id"])]

    def __str__(self) -> str:
        return f"{self.via} {self.received_at:%Y-%m-%d %H:%M} {self.subject[:40]}"


class Mailbox(models.Model):
    """An IMAP mailbox polled for reports, and how far Herald has read it."""

    key = models.CharField(max_length=400, unique=True, help_text="user@host:port/folder")
    uidvalidity = models.PositiveBigIntegerField(null=True, blank=True)
    last_uid = models.PositiveBigIntegerField(default=0)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.key


class Reward(models.Model):
    class Kind(models.TextChoices):
        SWAG = "swag", "Swag"
        MONEY = "money", "Money"

    class Status(models.TextChoices):
        OFFERED = "offered", "Offered"
        ACCEPTED = "accepted", "Accepted"
        SHIPPED = "shipped", "Shipped"
        PAID = "paid", "Paid"
        DECLINED = "declined", "Declined"

    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="rewards")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    description = models.CharField(max_length=300, help_text="What: a T-shirt, a bounty.")
    amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OFFERED)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.report.tracking_id} {self.kind} {self.description} ({self.status})"

    OUTSTANDING = (Status.OFFERED, Status.ACCEPTED)

    @property
    def amount_label(self) -> str:
        if self.amount is None:
            return ""
        return f"{self.amount} {self.currency}".strip()


class RewardEvent(models.Model):
    """The history of a reward: every change of status, by whom, when."""

    reward = models.ForeignKey(Reward, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    actor = models.CharField(max_length=200)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"
