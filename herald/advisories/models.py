"""Advisories: the seed page's template plus what OSV, CSAF and CVE need.

Only the record-level writes of ``herald.advisories.actions`` write these tables. A published
advisory is never edited in place without a new ``Revision`` (DESIGN.md rule 5).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models

from herald.core.models import Product
from herald.incidents.models import Incident, Severity

__all__ = [
    "Advisory",
    "Affected",
    "Credit",
    "Reference",
    "Revision",
    "Severity",
    "SourceDocument",
    "Vulnerability",
]

# The one-form shorthand: the advisory's vulnerabilities seen as one (``cve_ids`` lists
# each one's CVE; the others are what they share). Stored on each ``Vulnerability``.
SHORTHAND_FIELDS = (
    "cve_ids",
    "cwe_ids",
    "cvss_v3_vector",
    "cvss_v3_score",
    "cvss_v4_vector",
    "cvss_v4_score",
)


class Advisory(models.Model):
    class Status(models.TextChoices):
        """The page's vocabulary: what has been done about the vulnerability."""

        REPORTED = "reported", "Reported"
        FIXED = "fixed", "Fixed"
        RESOLVED = "resolved", "Resolved"

    class State(models.TextChoices):
        """Visibility: only published and withdrawn advisories are ever public."""

        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        WITHDRAWN = "withdrawn", "Withdrawn"

    identifier = models.CharField(max_length=40, unique=True)
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="advisories")
    version = models.PositiveIntegerField(
        default=1, help_text="Bumped by every save; a stale version is a conflict."
    )

    title = models.CharField(max_length=300)
    summary = models.CharField(max_length=500, blank=True)
    description = models.TextField(blank=True, help_text="Markdown.")

    severity = models.CharField(max_length=16, choices=Severity.choices, blank=True)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REPORTED)
    state = models.CharField(max_length=16, choices=State.choices, default=State.DRAFT)
    embargo_until = models.DateTimeField(
        null=True, blank=True, help_text="Publishing before this moment needs a recorded reason."
    )
    scheduled_publish_at = models.DateTimeField(null=True, blank=True)
    scheduled_by = models.CharField(max_length=200, blank=True)

    affected_users = models.TextField(blank=True, help_text="Who is affected, in prose.")
    affected_regions = models.JSONField(default=list, blank=True)
    resolution = models.TextField(blank=True, help_text="Markdown: the fix and next steps.")

    discovered_at = models.DateField(null=True, blank=True)
    reported_at = models.DateField(null=True, blank=True)
    fixed_at = models.DateField(null=True, blank=True)
    disclosed_at = models.DateField(null=True, blank=True)

    confirmed_exposure = models.BooleanField(default=False)
    user_action_required = models.BooleanField(default=False)
    outreach_waiver_reason = models.TextField(blank=True)
    outreach_waived_by = models.CharField(max_length=200, blank=True)

    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)
    updated_at = models.DateTimeField()
    published_at = models.DateTimeField(
        null=True, blank=True, help_text="First publication: the page's Date."
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-published_at", "-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "status"]),
            # The public lists and feeds take the newest N by publication or by
            # change: read in index order and stop, instead of sorting every row.
            models.Index(fields=["published_at", "id"], name="advisory_published_idx"),
            models.Index(fields=["updated_at", "id"], name="advisory_updated_idx"),
            # The site-wide files list every public advisory on each publication (OSV
            # index, CSAF index and feed, handbook page, archive years): these columns
            # read from the index alone, not from rows that carry every advisory's text.
            models.Index(
                fields=["state", "status", "published_at", "updated_at", "identifier", "title"],
                name="advisory_listing_idx",
            ),
        ]
        verbose_name_plural = "advisories"

    def __str__(self) -> str:
        return f"{self.identifier} {self.title}"

    @property
    def is_public(self) -> bool:
        return self.state in (self.State.PUBLISHED, self.State.WITHDRAWN)

    # ------------------------------------------------ the one-form shorthand
    # ``cve_ids``, ``cwe_ids`` and the CVSS fields read the advisory's vulnerabilities
    # (their one home): the CVE of each, and the weaknesses and scores of the headline
    # one. Setting them (the editor, the API's and CLI's flat fields) is held on the
    # instance until the write action stores it on the vulnerabilities
    # (``herald.advisories.actions``); an unsaved advisory (the preview) reads it back.

    def stored_vulnerabilities(self) -> list[Vulnerability]:
        if not self.pk:
            return []
        cache = getattr(self, "_prefetched_objects_cache", {})
        if "vulnerabilities" in cache:
            return list(cache["vulnerabilities"])
        return list(self.vulnerabilities.all())

    @property
    def pending_shorthand(self) -> dict[str, Any]:
        pending: dict[str, Any] = self.__dict__.setdefault("_pending_shorthand", {})
        return pending

    def _shorthand(self, name: str) -> Any:
        if name in self.pending_shorthand:
            return self.pending_shorthand[name]
        vulns = self.stored_vulnerabilities()
        if name == "cve_ids":
            return [v.cve_id for v in vulns if v.cve_id]
        if name == "cwe_ids":
            return list(dict.fromkeys(c for v in vulns for c in v.cwe_ids))
        headline = _headline(vulns)
        if headline is None:
            return "" if name.endswith("vector") else None
        return getattr(headline, name)

    @property
    def cve_ids(self) -> list[str]:
        return list(self._shorthand("cve_ids"))

    @cve_ids.setter
    def cve_ids(self, value: list[str]) -> None:
        self.pending_shorthand["cve_ids"] = list(value or [])

    @property
    def cwe_ids(self) -> list[str]:
        return list(self._shorthand("cwe_ids"))

    @cwe_ids.setter
    def cwe_ids(self, value: list[str]) -> None:
        self.pending_shorthand["cwe_ids"] = list(value or [])

    @property
    def cvss_v3_vector(self) -> str:
        return str(self._shorthand("cvss_v3_vector") or "")

    @cvss_v3_vector.setter
    def cvss_v3_vector(self, value: str) -> None:
        self.pending_shorthand["cvss_v3_vector"] = value or ""

    @property
    def cvss_v4_vector(self) -> str:
        return str(self._shorthand("cvss_v4_vector") or "")

    @cvss_v4_vector.setter
    def cvss_v4_vector(self, value: str) -> None:
        self.pending_shorthand["cvss_v4_vector"] = value or ""

    @property
    def cvss_v3_score(self) -> Decimal | None:
        value = self._shorthand("cvss_v3_score")
        return None if value is None else Decimal(str(value))

    @cvss_v3_score.setter
    def cvss_v3_score(self, value: Decimal | None) -> None:
        self.pending_shorthand["cvss_v3_score"] = value

    @property
    def cvss_v4_score(self) -> Decimal | None:
        value = self._shorthand("cvss_v4_score")
        return None if value is None else Decimal(str(value))

    @cvss_v4_score.setter
    def cvss_v4_score(self, value: Decimal | None) -> None:
        self.pending_shorthand["cvss_v4_score"] = value

    @property
    def is_current(self) -> bool:
        """Published and not yet resolved: listed under "Current advisories"."""
        return self.state == self.State.PUBLISHED and self.status != self.Status.RESOLVED


def _headline(vulns: list[Vulnerability]) -> Vulnerability | None:
    """The vulnerability that sets the advisory's scores (as ``AdvisorySnapshot.headline``)."""
    if not vulns:
        return None
    return max(
        vulns,
        key=lambda v: (
            v.cvss_v4_score if v.cvss_v4_score is not None else Decimal(-1),
            v.cvss_v3_score if v.cvss_v3_score is not None else Decimal(-1),
        ),
    )


class Vulnerability(models.Model):
    """One vulnerability of an advisory: its ids, weaknesses, scores and texts.

    What it does to each product is in ``Affected`` rows: a row with this vulnerability
    is its own; a row without one applies to every vulnerability of the advisory (what
    the one-form editor writes). Fields are those of ``snapshot.VulnerabilitySnapshot``;
    the lists of structured items are JSON in its ``to_dict`` form."""

    advisory = models.ForeignKey(Advisory, on_delete=models.CASCADE, related_name="vulnerabilities")
    position = models.PositiveSmallIntegerField(default=0)
    cve_id = models.CharField(max_length=32, blank=True, db_index=True)
    ids = models.JSONField(default=list, blank=True, help_text="Other ids: [{id, role}].")
    title = models.CharField(max_length=500, blank=True)
    cwe_ids = models.JSONField(default=list, blank=True)
    cvss_v3_vector = models.CharField(max_length=200, blank=True)
    cvss_v3_score = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    cvss_v4_vector = models.CharField(max_length=400, blank=True)
    cvss_v4_score = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    scores = models.JSONField(default=list, blank=True, help_text="Scores kept as given.")
    notes = models.JSONField(default=list, blank=True)
    references = models.JSONField(default=list, blank=True)
    discovered_at = models.DateField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    third_party = models.JSONField(
        default=list, blank=True, help_text="Other organisations' data (CVE ADP), as theirs."
    )
    extra = models.JSONField(default=dict, blank=True, help_text="Format fields kept as given.")

    class Meta:
        ordering = ["position", "id"]
        verbose_name_plural = "vulnerabilities"

    def __str__(self) -> str:
        return self.cve_id or f"{self.advisory_id}#{self.position + 1}"


class SourceDocument(models.Model):
    """A document an advisory was imported from: the source's own moments, history and
    the document as it came (so nothing it said is lost, and it can be compared)."""

    advisory = models.ForeignKey(Advisory, on_delete=models.CASCADE, related_name="sources")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=16)
    source_id = models.CharField(max_length=200)
    url = models.URLField(max_length=1000, blank=True)
    publisher = models.CharField(max_length=300, blank=True)
    published = models.DateTimeField(null=True, blank=True)
    modified = models.DateTimeField(null=True, blank=True)
    withdrawn = models.DateTimeField(null=True, blank=True)
    revision_history = models.JSONField(default=list, blank=True)
    schema_version = models.CharField(max_length=32, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    document = models.JSONField(default=dict, blank=True, help_text="As imported.")
    imported_at = models.DateTimeField()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.source_id}"


class Affected(models.Model):
    """One product (line or version) and what a vulnerability does to it: where it runs,
    which versions, their status, and what to do. Without a vulnerability the row holds
    for every vulnerability of the advisory."""

    class Deployment(models.TextChoices):
        CLOUD = "cloud", "Cloud"
        SELF_HOSTED = "self_hosted", "Self-hosted"
        SDK = "sdk", "SDK / library"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        AFFECTED = "affected", "Affected"
        FIXED = "fixed", "Fixed"
        NOT_AFFECTED = "not_affected", "Not affected"
        UNDER_INVESTIGATION = "under_investigation", "Under investigation"

    advisory = models.ForeignKey(Advisory, on_delete=models.CASCADE, related_name="affected")
    vulnerability = models.ForeignKey(
        Vulnerability, on_delete=models.CASCADE, related_name="affected", null=True, blank=True
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="affected")
    deployment = models.CharField(
        max_length=16, choices=Deployment.choices, default=Deployment.CLOUD
    )
    region = models.CharField(max_length=32, blank=True, help_text="Cloud region; blank for all.")
    introduced = models.CharField(max_length=100, blank=True, help_text="First affected version.")
    fixed = models.CharField(max_length=100, blank=True, help_text="First fixed version.")
    last_affected = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.AFFECTED)
    position = models.PositiveSmallIntegerField(default=0)
    # Beyond the one range the editor writes: what documents say (snapshot.AffectedSnapshot).
    version = models.CharField(max_length=200, blank=True)
    platform = models.CharField(max_length=300, blank=True)
    # The row's package, where it is not its product's (a CVE record names the package
    # per entry: "xz" of several Red Hat products). Blank: the product's.
    ecosystem = models.CharField(max_length=64, blank=True)
    package_name = models.CharField(max_length=200, blank=True)
    repository_url = models.URLField(max_length=1000, blank=True)
    purl = models.CharField(max_length=1000, blank=True)
    cpe = models.CharField(max_length=1000, blank=True)
    ranges = models.JSONField(default=list, blank=True)
    versions = models.JSONField(default=list, blank=True)
    default_status = models.CharField(max_length=24, blank=True)
    justification = models.CharField(max_length=64, blank=True)
    impact_statement = models.TextField(blank=True)
    remediations = models.JSONField(default=list, blank=True)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.product} {self.version_range}"

    @property
    def version_range(self) -> str:
        """As the snapshot words it (one rule for stored rows and snapshots)."""
        from herald.advisories.snapshot import affected_snapshot  # it reads these models

        return affected_snapshot(self).version_range

    @property
    def has_versions(self) -> bool:
        return bool(
            self.introduced
            or self.fixed
            or self.last_affected
            or self.version
            or self.versions
            or self.ranges
        )


class Credit(models.Model):
    class Type(models.TextChoices):
        """OSV's credit types, which CSAF and CVE map onto."""

        FINDER = "FINDER", "Finder"
        REPORTER = "REPORTER", "Reporter"
        ANALYST = "ANALYST", "Analyst"
        COORDINATOR = "COORDINATOR", "Coordinator"
        REMEDIATION_DEVELOPER = "REMEDIATION_DEVELOPER", "Remediation developer"
        REMEDIATION_REVIEWER = "REMEDIATION_REVIEWER", "Remediation reviewer"
        REMEDIATION_VERIFIER = "REMEDIATION_VERIFIER", "Remediation verifier"
        TOOL = "TOOL", "Tool"
        SPONSOR = "SPONSOR", "Sponsor"
        OTHER = "OTHER", "Other"

    advisory = models.ForeignKey(Advisory, on_delete=models.CASCADE, related_name="credits")
    name = models.CharField(max_length=200)
    contact = models.CharField(max_length=300, blank=True)
    type = models.CharField(max_length=32, choices=Type.choices, default=Type.FINDER)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.type})"


class Reference(models.Model):
    class Type(models.TextChoices):
        """OSV's reference types; FIX links (pull requests) become CVE `patch` tags."""

        ADVISORY = "ADVISORY", "Advisory"
        ARTICLE = "ARTICLE", "Article"
        DETECTION = "DETECTION", "Detection"
        DISCUSSION = "DISCUSSION", "Discussion"
        REPORT = "REPORT", "Report"
        FIX = "FIX", "Fix"
        INTRODUCED = "INTRODUCED", "Introduced"
        PACKAGE = "PACKAGE", "Package"
        EVIDENCE = "EVIDENCE", "Evidence"
        WEB = "WEB", "Web"

    advisory = models.ForeignKey(Advisory, on_delete=models.CASCADE, related_name="references")
    url = models.URLField(max_length=1000)
    type = models.CharField(max_length=16, choices=Type.choices, default=Type.WEB)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.type} {self.url}"


class Revision(models.Model):
    """An immutable snapshot of a public advisory, one per publication, change or withdrawal."""

    class Kind(models.TextChoices):
        PUBLISHED = "published", "Published"
        UPDATED = "updated", "Updated"
        WITHDRAWN = "withdrawn", "Withdrawn"

    advisory = models.ForeignKey(Advisory, on_delete=models.PROTECT, related_name="revisions")
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    summary = models.TextField(help_text="What changed, in a sentence.")
    snapshot = models.JSONField()
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="revisions")
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)

    class Meta:
        ordering = ["advisory", "number"]
        indexes = [
            # An advisory's latest revision, as the CSAF index and feed date it.
            models.Index(fields=["advisory", "created_at"], name="revision_latest_idx")
        ]
        constraints = [
            models.UniqueConstraint(fields=["advisory", "number"], name="revision_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.advisory.identifier} r{self.number} {self.kind}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValueError("Revisions are immutable; record a new revision instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("Revisions are immutable and are never deleted.")
