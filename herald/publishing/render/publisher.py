"""Who publishes: the vendor profile as the OSV, CVE and CSAF renderers need it.

Renderers are pure functions of an ``AdvisorySnapshot`` and a ``Publisher``; the
profile is read once (``publisher_from_profile``) so no renderer touches the
database. The small helpers every standard renderer shares (UTC timestamps, JSON
bytes, version-shape tests, package URLs, fix links) live here too, so the three
formats cannot drift apart on them.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

from markdown_it import MarkdownIt
from packageurl import PackageURL

from herald.advisories.snapshot import AdvisorySnapshot
from herald.core.markdown import render as render_markdown

if TYPE_CHECKING:
    from herald.core.models import VendorProfile

GENERATOR_NAME = "Herald"
GENERATOR_VERSION = "0.1.0"

# OSV ecosystem name -> package URL type, for the ecosystems whose purl mapping is
# fixed by the purl spec. An ecosystem missing here simply gets no purl.
PURL_TYPES = {
    "PyPI": "pypi",
    "npm": "npm",
    "crates.io": "cargo",
    "Go": "golang",
    "Maven": "maven",
    "NuGet": "nuget",
    "RubyGems": "gem",
    "Packagist": "composer",
    "Hex": "hex",
    "Pub": "pub",
    "Hackage": "hackage",
    "CRAN": "cran",
    "ConanCenter": "conan",
    "SwiftURL": "swift",
    "GitHub Actions": "github",
}

# Package URL types whose purl is invalid without a version (purl-spec PURL-TYPES;
# csaf-validator-lib's test 6.1.13 refuses them): a version range gets no purl.
VERSION_REQUIRED = frozenset({"swift", "cran"})

# CVE's "collectionURL" for the package ecosystems it documents as examples.
COLLECTION_URLS = {
    "PyPI": "https://pypi.python.org",
    "npm": "https://www.npmjs.com",
    "crates.io": "https://crates.io",
    "Go": "https://pkg.go.dev",
    "Maven": "https://repo.maven.apache.org/maven2",
    "NuGet": "https://www.nuget.org",
    "RubyGems": "https://rubygems.org",
    "Packagist": "https://packagist.org",
    "Hex": "https://hex.pm",
    "Pub": "https://pub.dev",
}

SEMVER_RE = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
GIT_SHA_RE = re.compile(r"^[0-9a-f]{40}$|^[0-9a-f]{64}$")
# Links in the resolution that are code changes: what OSV calls FIX and CVE "patch".
FIX_LINK_RE = re.compile(
    r"^https?://[^/\s]+/[^\s]+/(?:pull|pulls|merge_requests|commit|commits)/[^\s]+$"
)


@dataclass(frozen=True)
class Publisher:
    """What the standard formats say about the vendor behind an advisory."""

    name: str
    base_url: str
    contact: str
    # OSV ecosystem for products that are not packages of a public ecosystem
    # (cloud services, appliances): by OSV's convention the vendor's own name.
    osv_ecosystem: str = ""
    # CSAF 2.0 document/publisher/category: a vendor publishing its own advisories.
    csaf_category: str = "vendor"
    # The CNA's organisation UUID and short name in CVE Services; CVE records
    # cannot be produced without the org id (the schema requires it).
    cna_org_id: str = ""
    cna_short_name: str = ""
    # Where the public page of an advisory lives, relative to base_url.
    advisory_path: str = "/security/advisories/{id}/"
    # Put before an advisory's identifier to make its OSV id. The OSV schema admits
    # only the prefixes of databases registered with OSV, or "x_" for a local
    # database; a vendor that registers its own prefix sets "" (HERALD_OSV_ID_PREFIX).
    osv_id_prefix: str = "x_"

    @property
    def namespace(self) -> str:
        """The base URL without a trailing slash: CSAF's publisher namespace."""
        return self.base_url.rstrip("/")

    @property
    def ecosystem(self) -> str:
        return self.osv_ecosystem or self.name

    @property
    def can_publish_cve(self) -> bool:
        return bool(self.cna_org_id)

    def advisory_url(self, identifier: str) -> str:
        return self.namespace + self.advisory_path.format(id=identifier)

    def osv_id(self, identifier: str) -> str:
        """The OSV id of an advisory: its identifier behind the configured prefix."""
        return self.osv_id_prefix + identifier

    def osv_url(self, identifier: str) -> str:
        return f"{self.namespace}/osv/{self.osv_id(identifier)}.json"

    def csaf_url(self, snapshot: AdvisorySnapshot) -> str:
        """The document's place in the CSAF provider tree (CSAF 2.0 section 7.1.11)."""
        released = snapshot.published_at or snapshot.updated_at
        year = released.year if released else 0
        return (
            f"{self.namespace}/.well-known/csaf/white/{year}/{csaf_filename(snapshot.identifier)}"
        )


def publisher_from_profile(profile: VendorProfile, **overrides: Any) -> Publisher:
    """The publisher a vendor profile describes.

    The profile does not (yet) store the OSV ecosystem, CSAF category or CNA
    identity; they are read when present and can be given as keyword overrides.
    """
    values: dict[str, Any] = {
        "name": profile.name,
        "base_url": profile.base_url,
        "contact": profile.security_contact,
        "osv_ecosystem": getattr(profile, "osv_ecosystem", "") or profile.name,
        "csaf_category": getattr(profile, "csaf_category", "") or "vendor",
        "cna_org_id": getattr(profile, "cna_org_id", ""),
        "cna_short_name": getattr(profile, "cna_short_name", ""),
    }
    values.update(overrides)
    return Publisher(**values)


def csaf_filename(identifier: str) -> str:
    """CSAF 2.0 section 5.1: lower case, runs of other characters as one ``_``."""
    return re.sub(r"[^+\-a-z0-9]+", "_", identifier.lower()) + ".json"


def utc_datetime(text: str) -> dt.datetime:
    """The datetime of a ``utc()`` text."""
    return dt.datetime.fromisoformat(text.removesuffix("Z")).replace(tzinfo=dt.UTC)


def utc(value: dt.datetime | dt.date) -> str:
    """RFC 3339 in UTC with a ``Z``, whole seconds: what all three schemas accept."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    if value.year < 1000:  # isoformat pads the year to four digits, strftime may not
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    # isoformat is several times faster than strftime, and site files format every
    # advisory's dates (changes.csv, modified_id.csv, the ROLIE feed) on each publication.
    return value.replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def modified_at(snapshot: AdvisorySnapshot) -> dt.datetime:
    moment = snapshot.updated_at or snapshot.withdrawn_at or snapshot.published_at
    if moment is None:
        raise ValueError(f"{snapshot.identifier} has no update time; renderers need one.")
    return moment


def json_bytes(document: dict[str, Any]) -> bytes:
    """Stable bytes: keys in the order the renderer built them, UTF-8, final newline."""
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def is_semver(version: str) -> bool:
    return bool(SEMVER_RE.match(version))


def is_git_sha(version: str) -> bool:
    return bool(GIT_SHA_RE.match(version))


def purl_for(ecosystem: str, package_name: str, version: str = "") -> str:
    """The package URL of a package, or "" when the ecosystem has no fixed purl type."""
    purl_type = PURL_TYPES.get(ecosystem)
    if not purl_type or not package_name or (purl_type in VERSION_REQUIRED and not version):
        return ""
    namespace: str | None = None
    name = package_name
    if purl_type == "swift":
        # SwiftURL names are repository URLs; the purl is pkg:swift/<host>/<owner>/<name>.
        name = re.sub(r"^[a-z][a-z0-9+.-]*://", "", name).removesuffix(".git")
    if purl_type == "maven":
        if ":" not in name:
            return ""  # a Maven purl needs the group id as its namespace
        namespace, name = name.split(":", 1)
    elif "/" in name and purl_type in {"npm", "golang", "composer", "github", "swift"}:
        namespace, name = name.rsplit("/", 1)
    if purl_type == "pypi":
        # purl spec: PyPI names are lower-cased with "_" as "-".
        name = name.lower().replace("_", "-")
    return PackageURL(
        type=purl_type, namespace=namespace, name=name, version=version or None
    ).to_string()


def fix_links(snapshot: AdvisorySnapshot) -> list[str]:
    """Fix pull requests: FIX references plus code-change links in the resolution."""
    links = [ref.url for ref in snapshot.references if ref.type == "FIX"]
    for url in _links_in(snapshot.resolution):
        if FIX_LINK_RE.match(url) and url not in links:
            links.append(url)
    return links


def plain_text(markdown: str) -> str:
    """Markdown as readable plain text (CVE's ``value``): blocks on their own lines,
    link targets kept in brackets, markup dropped."""
    parser = _TextOf()
    parser.feed(render_markdown(markdown or ""))
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    # Items of one list stay on consecutive lines.
    while True:
        tighter = re.sub(r"(\n- [^\n]*)\n\n(?=- )", r"\1\n", text)
        if tighter == text:
            return text.strip()
        text = tighter


class _TextOf(HTMLParser):
    BLOCKS = frozenset({"p", "pre", "blockquote", "ul", "ol", "table", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._href: list[str] = []
        self._link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n\n")
        elif tag in ("li", "tr", "br"):
            self.parts.append("\n- " if tag == "li" else "\n")
        elif tag == "a":
            self._href.append(dict(attrs).get("href") or "")
            self._link_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href:
            href = self._href.pop()
            if href and href != "".join(self._link_text).strip():
                self.parts.append(f" ({href})")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        if self._href:
            self._link_text.append(data)


def _links_in(markdown: str) -> list[str]:
    urls: list[str] = []
    for block in _links_parser().parse(markdown or ""):
        for tok in block.children or ():
            if tok.type == "link_open":
                urls.append(str(tok.attrs.get("href", "")))
    urls += re.findall(r"(?<![(<\"])\bhttps?://[^\s)>\]]+", markdown or "")
    return list(dict.fromkeys(u for u in urls if u))


@functools.cache
def _links_parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False})


# Names from the CWE catalogue (MITRE CWE 4.x), for the weaknesses web vendors
# report most. CSAF 2.0 requires a CWE's exact name beside its id (mandatory test
# 6.1.11); an id missing here is left out of CSAF and shown by id alone in CVE.
CWE_NAMES = {
    "CWE-20": "Improper Input Validation",
    "CWE-22": "Improper Limitation of a Pathname to a Restricted Directory ('Path Traversal')",
    "CWE-74": "Improper Neutralization of Special Elements in Output Used by a Downstream "
    "Component ('Injection')",
    "CWE-77": "Improper Neutralization of Special Elements used in a Command ('Command Injection')",
    "CWE-78": "Improper Neutralization of Special Elements used in an OS Command "
    "('OS Command Injection')",
    "CWE-79": "Improper Neutralization of Input During Web Page Generation "
    "('Cross-site Scripting')",
    "CWE-89": "Improper Neutralization of Special Elements used in an SQL Command "
    "('SQL Injection')",
    "CWE-94": "Improper Control of Generation of Code ('Code Injection')",
    "CWE-116": "Improper Encoding or Escaping of Output",
    "CWE-200": "Exposure of Sensitive Information to an Unauthorized Actor",
    "CWE-269": "Improper Privilege Management",
    "CWE-284": "Improper Access Control",
    "CWE-285": "Improper Authorization",
    "CWE-287": "Improper Authentication",
    "CWE-295": "Improper Certificate Validation",
    "CWE-306": "Missing Authentication for Critical Function",
    "CWE-307": "Improper Restriction of Excessive Authentication Attempts",
    "CWE-312": "Cleartext Storage of Sensitive Information",
    "CWE-319": "Cleartext Transmission of Sensitive Information",
    "CWE-352": "Cross-Site Request Forgery (CSRF)",
    "CWE-384": "Session Fixation",
    "CWE-400": "Uncontrolled Resource Consumption",
    "CWE-416": "Use After Free",
    "CWE-434": "Unrestricted Upload of File with Dangerous Type",
    "CWE-502": "Deserialization of Untrusted Data",
    "CWE-522": "Insufficiently Protected Credentials",
    "CWE-532": "Insertion of Sensitive Information into Log File",
    "CWE-601": "URL Redirection to Untrusted Site ('Open Redirect')",
    "CWE-611": "Improper Restriction of XML External Entity Reference",
    "CWE-613": "Insufficient Session Expiration",
    "CWE-639": "Authorization Bypass Through User-Controlled Key",
    "CWE-770": "Allocation of Resources Without Limits or Throttling",
    "CWE-787": "Out-of-bounds Write",
    "CWE-798": "Use of Hard-coded Credentials",
    "CWE-862": "Missing Authorization",
    "CWE-863": "Incorrect Authorization",
    "CWE-918": "Server-Side Request Forgery (SSRF)",
    "CWE-1321": "Improperly Controlled Modification of Object Prototype Attributes "
    "('Prototype Pollution')",
    "CWE-1333": "Inefficient Regular Expression Complexity",
}
