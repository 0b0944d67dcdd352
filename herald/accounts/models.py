"""Accounts' own records: role, collaborations, invitations and API tokens.

Django's ``User`` keeps the login (username, password, is_active, last_login);
allauth keeps e-mail addresses, second factors and single sign-on links. Herald
adds what decides access: one role per account (``Account``), the drafts and
incidents an outsider was invited to (``Collaboration``), one-time invitations,
and API tokens, of which only a hash is stored.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    """Staff roles, most to least powerful. ``NONE``: an outsider or a collaborator."""

    ADMIN = "admin", "Admin"
    RESPONDER = "responder", "Responder"
    SUPPORT = "support", "Support"
    VIEWER = "viewer", "Viewer"
    NONE = "", "No role"


class Account(models.Model):
    """Herald's side of a user: the role that the permission table maps to rights."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="herald_account"
    )
    role = models.CharField(max_length=16, choices=Role.choices, blank=True, default="")
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user} ({self.role or 'no role'})"


class Collaboration(models.Model):
    """One person invited to one draft advisory or one incident, and nothing else."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collaborations"
    )
    advisory = models.ForeignKey(
        "advisories.Advisory",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="collaborations",
    )
    incident = models.ForeignKey(
        "incidents.Incident",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="collaborations",
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(advisory__isnull=False, incident__isnull=True)
                    | models.Q(advisory__isnull=True, incident__isnull=False)
                ),
                name="collaboration_on_exactly_one_item",
            ),
            models.UniqueConstraint(
                fields=["user", "advisory"],
                condition=models.Q(advisory__isnull=False),
                name="one_collaboration_per_advisory",
            ),
            models.UniqueConstraint(
                fields=["user", "incident"],
                condition=models.Q(incident__isnull=False),
                name="one_collaboration_per_incident",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.item_label}"

    @property
    def item_label(self) -> str:
        if self.advisory is not None:
            return f"advisory {self.advisory.identifier}"
        return f"incident {self.incident.identifier}" if self.incident else "nothing"


class Invitation(models.Model):
    """A one-time link that lets a new person create an account with a set role or item."""

    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, blank=True, default="")
    advisory = models.ForeignKey(
        "advisories.Advisory", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    incident = models.ForeignKey(
        "incidents.Incident", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"invitation for {self.email} ({self.role or 'collaborator'})"

    @property
    def is_usable(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )


class Scope(models.TextChoices):
    READ = "read", "Read: drafts and incidents the owner may see"
    WRITE = "write", "Write: create and change advisories"
    PUBLISH = "publish", "Publish advisories"


class ApiToken(models.Model):
    """A bearer token for the API. Its value is shown once; only its SHA-256 is kept.

    ``prefix`` (the first characters after ``hrld_``) names the token in lists and
    logs without being enough to use it.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"token {self.prefix}… ({self.name}) of {self.user}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "active"
