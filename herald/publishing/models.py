"""OpenPGP signing keys for published documents (CSAF .asc, security.txt).

Only the public half lives in the database. The secret half is a file under
``HERALD_HOME/keys`` (mode 600), or wherever ``HERALD_SIGNING_KEY_DIR`` points for
deployments that mount it from a secret store: a database dump never carries it.
"""

from __future__ import annotations

from django.db import models


class SigningKey(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active", "Active: signs new documents"
        RETIRED = "retired", "Retired: kept so older signatures still verify"

    fingerprint = models.CharField(max_length=64, unique=True)
    user_id = models.CharField(max_length=300)
    public_key = models.TextField(help_text="ASCII-armored certificate, published.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField()
    retired_at = models.DateTimeField(null=True, blank=True)
    imported = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["state"],
                condition=models.Q(state="active"),
                name="one_active_signing_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.fingerprint} ({self.state})"
