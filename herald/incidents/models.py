"""Incidents: the only context in which advisories change (DESIGN.md rule 1)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class Incident(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    identifier = models.CharField(max_length=32, unique=True)
    title = models.CharField(max_length=300)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MEDIUM)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    summary = models.TextField(blank=True)
    commander = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="commanded_incidents",
    )
    declared_at = models.DateTimeField()
    declared_by = models.CharField(max_length=200)
    declared_reason = models.TextField(blank=True)
    auto_declared = models.BooleanField(
        default=False, help_text="Declared by Herald because an advisory changed with none open."
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=200, blank=True)
    resolution_summary = models.TextField(blank=True)

    class Meta:
        ordering = ["-declared_at", "-id"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"{self.identifier} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class IncidentEvent(models.Model):
    """One line of an incident's timeline."""

    class Kind(models.TextChoices):
        DECLARED = "declared", "Declared"
        AUTO_DECLARED = "auto_declared", "Declared automatically"
        NOTE = "note", "Note"
        COMMANDER = "commander", "Commander changed"
        SEVERITY = "severity", "Severity changed"
        ADVISORY = "advisory", "Advisory"
        RESOLVED = "resolved", "Resolved"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=32, choices=Kind.choices)
    actor = models.CharField(max_length=200)
    message = models.TextField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.incident.identifier} {self.kind}: {self.message[:60]}"
