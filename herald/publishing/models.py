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


class Artifact(models.Model):
    """One public file as served: rendered when its source changed, never per request.

    A large listing (the handbook page, the OSV archive, the ROLIE feed) is stored
    as ``ArtifactBlock`` rows instead of ``content``: ``blocks`` lists their
    digests in order, and ``herald.publishing.store.blocks`` explains why.
    """

    path = models.CharField(max_length=500, unique=True, help_text="URL path, no leading slash.")
    content = models.BinaryField(help_text="The bytes, or empty when stored as blocks.")
    blocks = models.JSONField(
        default=list, blank=True, help_text="Digests of the blocks that make the file, in order."
    )
    content_type = models.CharField(max_length=100)
    etag = models.CharField(max_length=64)
    generation = models.PositiveBigIntegerField(
        db_index=True, help_text="The regeneration that last changed it."
    )
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["path"]

    def __str__(self) -> str:
        return self.path


class ArtifactBlock(models.Model):
    """A run of a large artifact's bytes, with its deflate stream for gzip."""

    path = models.CharField(max_length=500, help_text="The artifact it belongs to.")
    digest = models.CharField(max_length=64, help_text="SHA-256 of content.")
    content = models.BinaryField()
    deflated = models.BinaryField(help_text="Raw deflate of content, ended by a sync flush.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["path", "digest"], name="artifact_block_unique")
        ]

    def __str__(self) -> str:
        return f"{self.path}#{self.digest[:12]}"


class Regeneration(models.Model):
    """How long one publication (a regeneration of the artifacts) took.

    Written in the regeneration's own transaction, so the metrics of any process
    (``/metrics``) count publications made by every process, on every machine.
    """

    generation = models.PositiveBigIntegerField(primary_key=True)
    finished_at = models.DateTimeField(db_index=True)
    seconds = models.FloatField()
    changed = models.PositiveIntegerField(help_text="Files written.")

    def __str__(self) -> str:
        return f"generation {self.generation}: {self.seconds:.3f} s"
