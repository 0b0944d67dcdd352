"""An advisory's link to a GitHub repository, and what GitHub last said of its advisory.

``RepositoryLink`` is the one home of "this advisory is kept on that
repository": which repository (``owner``/``name``), and once the outbox has
created it there, the repository advisory's GHSA id, its state on GitHub, the
CVE id GitHub's CNA assigned and GitHub's last answer. Only
``herald.github.actions`` writes it; the answers come from the worker sending
the ``github`` deliveries (``herald.github.channel``).
"""

from __future__ import annotations

from django.db import models

from herald.advisories.models import Advisory
from herald.incidents.models import Incident
from herald.intake.models import Report


class RepositoryLink(models.Model):
    class State(models.TextChoices):
        """The repository advisory's state on GitHub ("" until it is created there)."""

        NONE = "", "Not created yet"
        TRIAGE = "triage", "Triage"
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        CLOSED = "closed", "Closed"
        WITHDRAWN = "withdrawn", "Withdrawn"

    advisory = models.OneToOneField(Advisory, on_delete=models.PROTECT, related_name="github")
    owner = models.CharField(max_length=100)
    name = models.CharField(max_length=100)
    ghsa_id = models.CharField(max_length=40, blank=True)
    html_url = models.URLField(max_length=500, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, blank=True)
    cve_id = models.CharField(max_length=40, blank=True, help_text="As GitHub last said it.")
    cve_requested_at = models.DateTimeField(null=True, blank=True)
    synced_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The advisory version GitHub last accepted."
    )
    last_answer = models.CharField(max_length=500, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    creating_since = models.DateTimeField(
        null=True, blank=True, help_text="A worker is creating it on GitHub (a lease)."
    )
    linked_at = models.DateTimeField()
    linked_by = models.CharField(max_length=200)

    def __str__(self) -> str:
        return f"{self.advisory.identifier} on {self.repository}"

    @property
    def repository(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def is_draft(self) -> bool:
        """Not published on GitHub yet (or not created): a publication publishes it."""
        return self.state in ("", self.State.TRIAGE, self.State.DRAFT)

    @property
    def is_closed(self) -> bool:
        """Closed or withdrawn on GitHub: Herald changes it no more."""
        return self.state in (self.State.CLOSED, self.State.WITHDRAWN)


class ImportedAdvisory(models.Model):
    """A repository advisory or private vulnerability report read into intake, once.

    The GHSA id is the source key: a second import of the same repository adds nothing.
    """

    ghsa_id = models.CharField(max_length=40, unique=True)
    owner = models.CharField(max_length=100)
    name = models.CharField(max_length=100)
    state = models.CharField(max_length=16, help_text="Its state on GitHub when imported.")
    html_url = models.URLField(max_length=500, blank=True)
    report = models.OneToOneField(Report, on_delete=models.PROTECT, related_name="github")
    imported_at = models.DateTimeField()
    imported_by = models.CharField(max_length=200)

    def __str__(self) -> str:
        return f"{self.ghsa_id} ({self.owner}/{self.name})"


class HandbookPullRequest(models.Model):
    """The handbook page's pull request on GitHub, opened for an incident.

    ``number`` is empty until GitHub opened it (the branch is pushed first); the
    state is GitHub's as last read (open, closed; ``merged`` once merged).
    """

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="pull_requests")
    owner = models.CharField(max_length=100)
    name = models.CharField(max_length=100)
    branch = models.CharField(max_length=255)
    base = models.CharField(max_length=255)
    number = models.PositiveIntegerField(null=True, blank=True)
    html_url = models.URLField(max_length=500, blank=True)
    state = models.CharField(max_length=16, blank=True)
    merged = models.BooleanField(default=False)
    last_answer = models.CharField(max_length=500, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.owner}/{self.name}#{self.number or '?'} ({self.branch})"

    @property
    def shown_state(self) -> str:
        if self.merged:
            return "merged"
        return self.state or "not opened yet"
