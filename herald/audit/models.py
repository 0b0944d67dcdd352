"""The audit log: one event per write, chained by SHA-256 so any edit shows."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """Who did what to which object, with the state before and after.

    ``hash`` covers every other field and ``prev_hash``; ``seq`` has no gaps.
    Changing, inserting or deleting a row breaks the chain, and ``AuditHead``
    remembers the last link so that removing the newest rows shows too.
    """

    seq = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField()
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.CharField(max_length=200, help_text="Who acted, as shown in the log.")
    action = models.CharField(max_length=100)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=100, help_text="How the object was named then.")
    object_pk = models.CharField(
        max_length=64, blank=True, help_text="Its primary key: stable when the name changes."
    )
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["object_type", "object_pk"]),
            models.Index(fields=["actor"]),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.actor} {self.action} {self.object_type}:{self.object_id}"


class AuditHead(models.Model):
    """The last link of the chain (a single row, pk=1); also the writers' lock."""

    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"head #{self.seq}"
