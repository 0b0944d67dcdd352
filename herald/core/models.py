"""The vendor running Herald, its products, and the counters behind identifiers."""

from __future__ import annotations

from django.db import models

DEFAULT_INTRO = (
    "This page contains security advisories and Common Vulnerabilities and Exposures "
    "(CVEs) related to our products. We keep it so that our users can see every "
    "security issue that may affect them. When a security incident leads to a "
    "confirmed exposure or requires action from users, we contact those users "
    "proactively."
)
DEFAULT_APPROACH = (
    "We run a security program that includes regular audits, responsible disclosure, "
    "vulnerability monitoring and open communication with our users."
)
DEFAULT_REPORTING = (
    "If you find a security vulnerability in our products or services, please report "
    "it to our security team. Valid findings are rewarded."
)
DEFAULT_UPDATING = (
    "Changes to advisories on this page happen only as part of a declared incident, "
    "so that every team that needs to know, support included, is aware."
)
DEFAULT_BEST_PRACTICES = (
    "- **Use strong authentication** - enable multi-factor authentication, strong "
    "passwords and SSO where available.\n"
    "- **Monitor access** - review who has access to your data regularly and give "
    "people only the access they need."
)
DEFAULT_EMPTY_STATE = "Currently, there are no active security advisories or CVEs. All is well."
DEFAULT_TEMPLATE_BLOCK = """```
**Date:** January 15, 2024  
**CVE:** CVE-2024-XXXXX  
**Severity:** Low / Medium / Critical  
**Status:** Reported / Fixed / Resolved  

**Description:**  
Brief description of the vulnerability and its potential impact.

**Affected users:**
Confirm if the advisory is limited to specific products.
Confirm if the advisory is limited to either US or EU customers, or both.   

**Resolution:**  
Where possible, add a link to a PR. Be clear on any next steps. 

**Timeline:**  
- **Discovered:** January 10, 2024
- **Reported:** January 10, 2024
- **Fixed:** January 10, 2024
- **Disclosed:** January 10, 2024
```"""  # noqa: W291  (the trailing spaces are Markdown line breaks of the page's template)


class VendorProfile(models.Model):
    """The one vendor this Herald speaks for, and the prose of its public page.

    The prose sections are Markdown. The headings are kept so that a page
    imported from the vendor's handbook is exported again exactly as it was.
    """

    name = models.CharField(max_length=200, default="Example Vendor")
    base_url = models.URLField(
        default="http://127.0.0.1:8000",
        help_text="Public base URL of the site that serves the advisories.",
    )
    # Until HERALD_BASE_URL or a person sets the base URL, it follows the address
    # `herald serve` listens on (herald.core.baseurl).
    base_url_follows_server = models.BooleanField(default=True)
    security_contact = models.EmailField(default="security@example.com")
    status_page_url = models.URLField(blank=True)
    advisory_prefix = models.CharField(
        max_length=16,
        default="HRLD",
        help_text="Prefix of advisory identifiers, e.g. HRLD gives HRLD-2026-0001.",
    )
    regions = models.JSONField(default=list, blank=True, help_text="Cloud regions, e.g. US, EU.")
    internal_channels = models.JSONField(
        default=list,
        blank=True,
        help_text="Names of the internal channels told of incidents and advisories.",
    )

    # The handbook page, section by section.
    front_matter = models.TextField(
        default="title: Security advisories & CVEs\nshowTitle: true\n", blank=True
    )
    intro = models.TextField(default=DEFAULT_INTRO, blank=True)
    approach_heading = models.CharField(
        max_length=200, default="Our approach to security advisories"
    )
    approach = models.TextField(default=DEFAULT_APPROACH, blank=True)
    reporting_heading = models.CharField(max_length=200, default="Reporting security issues")
    reporting = models.TextField(default=DEFAULT_REPORTING, blank=True)
    updating_heading = models.CharField(max_length=200, default="Updating this page")
    updating = models.TextField(default=DEFAULT_UPDATING, blank=True)
    best_practices_heading = models.CharField(max_length=200, default="Security best practices")
    best_practices = models.TextField(default=DEFAULT_BEST_PRACTICES, blank=True)
    current_heading = models.CharField(max_length=200, default="Current advisories")
    empty_state_heading = models.CharField(max_length=200, default="No active advisories")
    empty_state = models.TextField(default=DEFAULT_EMPTY_STATE, blank=True)
    past_heading = models.CharField(max_length=200, default="Past advisories")
    past_intro = models.TextField(
        default="This section contains resolved security advisories for reference.", blank=True
    )
    template_heading = models.CharField(max_length=200, default="Advisory template", blank=True)
    template_block = models.TextField(default=DEFAULT_TEMPLATE_BLOCK, blank=True)

    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(pk=1), name="vendorprofile_singleton")
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def get(cls) -> VendorProfile:
        """The profile, created with defaults on first use."""
        profile, _ = cls.objects.get_or_create(pk=1)
        return profile


class Product(models.Model):
    """A product or service an advisory can affect: the product tree's vendor > product,
    with the identifiers consumers match on (versions and platforms are per row)."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    vendor = models.CharField(
        max_length=200, blank=True, help_text="Blank: the desk's own vendor; else as imported."
    )
    purl = models.CharField(max_length=1000, blank=True, help_text="Package URL, no version.")
    cpe = models.CharField(max_length=1000, blank=True, help_text="CPE 2.3 name.")
    description = models.TextField(blank=True)
    ecosystem = models.CharField(
        max_length=64,
        blank=True,
        help_text="Package ecosystem (PyPI, npm, ...) if the product ships as a package.",
    )
    package_name = models.CharField(max_length=200, blank=True)
    repository_url = models.URLField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "name"], name="product_vendor_name_unique")
        ]

    def __str__(self) -> str:
        return f"{self.vendor} {self.name}" if self.vendor else self.name


class Sequence(models.Model):
    """Counters for identifiers (HRLD-2026-0001, INC-2026-0001), one row per key."""

    key = models.CharField(max_length=64, primary_key=True)
    value = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class WorkerHeartbeat(models.Model):
    """One row per running worker, touched every few seconds by its task loop.

    A row rather than a file, so that a web machine's ``/readyz`` and ``herald status``
    see workers running on other machines. Rows of workers gone for a day are removed
    when a worker starts.
    """

    worker_id = models.CharField(max_length=64, primary_key=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.hostname}:{self.pid}"


class LocalMail(models.Model):
    """An e-mail kept on this machine because no SMTP server is configured: the local outbox.

    ``raw`` is the whole RFC 5322 message, as SMTP would have carried it, so what
    the desk shows is what the recipient would have read. The other columns are
    copied out of it for listing. See ``herald.core.mail``.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sender = models.CharField(max_length=320)
    recipients = models.JSONField(default=list)
    subject = models.CharField(max_length=998, blank=True)
    message_id = models.CharField(max_length=998, blank=True)
    raw = models.BinaryField()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.subject} to {', '.join(self.recipients)}"


class Throttle(models.Model):
    """A counter of submissions per key (an address or an e-mail) per hour.

    Every per-address limit counts here (reports, sign-ups): ``herald.core.throttle``.
    """

    scope = models.CharField(max_length=16)
    key = models.CharField(max_length=64, help_text="SHA-256 of the address, never the address.")
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        # The table it had in the intake, where it started: the move changed no row.
        db_table = "intake_throttle"
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "key", "window_start"], name="throttle_window_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key[:8]} {self.count}"
