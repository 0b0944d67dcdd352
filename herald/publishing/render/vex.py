"""What an advisory states per vulnerability and product: the facts both VEX formats share.

VEX (Vulnerability Exploitability eXchange) says for each vulnerability and product
whether the product is affected, fixed, not affected (and why) or under
investigation. OpenVEX (``openvex``) and CycloneDX VEX (``cyclonedx_vex``) write the
same statements in their own shapes; the product pages list them. They all go
through ``vex_statements`` so the three cannot disagree.

One statement per vulnerability x product row; an affected row with a fixed version
gives a second, ``fixed`` statement for that version (as CSAF's product tree does).
OpenVEX cannot say "versions 1.0 to 1.2": a row with a range is stated for the
product (its versionless package URL) with the range in words beside it, and the
fixed version gets its own statement.

A withdrawn advisory no longer asserts anything: its statements are published as
``under_investigation`` with the reason, rather than left claiming what was withdrawn
(the files cannot be taken down: a feed consumer keeps the last copy it read).
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, replace
from typing import Any
from urllib.parse import quote

from herald.advisories.snapshot import (
    VEX_JUSTIFICATIONS,
    AdvisorySnapshot,
    AffectedSnapshot,
    Remediation,
    VulnerabilitySnapshot,
)
from herald.publishing.render.publisher import (
    PURL_TYPES,
    Publisher,
    is_semver,
    plain_text,
    purl_for,
)

PRODUCT_PAGE = "security/products/{slug}/vex/"
VEX_DIR = "vex/"

JUSTIFICATION_WORDS = {
    "component_not_present": "The vulnerable component is not present.",
    "vulnerable_code_not_present": "The vulnerable code is not present.",
    "vulnerable_code_not_in_execute_path": "The vulnerable code is never executed.",
    "vulnerable_code_cannot_be_controlled_by_adversary": (
        "The vulnerable code cannot be controlled by an attacker."
    ),
    "inline_mitigations_already_exist": "Built-in mitigations prevent exploitation.",
}
REMEDIATION_WORDS = {
    "vendor_fix": "Fix",
    "workaround": "Workaround",
    "mitigation": "Mitigation",
    "no_fix_planned": "No fix planned",
    "none_available": "No fix available yet",
    "fix_planned": "Fix planned",
    "optional_patch": "Optional patch",
}


def openvex_path(identifier: str) -> str:
    return f"{VEX_DIR}{identifier}.openvex.json"


def cyclonedx_path(identifier: str) -> str:
    return f"{VEX_DIR}{identifier}.cdx.json"


def product_page_path(slug: str) -> str:
    return PRODUCT_PAGE.format(slug=slug)


@dataclass(frozen=True)
class Product:
    """A product (or one version of it) as the statements identify it."""

    id: str  # an IRI: the package URL, else the CPE, else the product's public page
    name: str
    slug: str
    purl: str = ""
    cpe: str = ""
    version: str = ""  # one version; "" for the product line (a range or every version)
    vendor: str = ""
    deployment: str = ""


@dataclass(frozen=True)
class Statement:
    """One VEX statement: a vulnerability, a product, its status and what goes with it."""

    vulnerability: str  # the CVE id, else an alias, else the advisory's identifier
    aliases: tuple[str, ...]
    title: str
    product: Product
    status: str  # affected | fixed | not_affected | under_investigation
    versions: str  # the versions stated, in words ("all versions", ">= 1.0, < 1.2")
    vers: str  # the same as a ``vers:`` range, "" when it is one version or all
    justification: str = ""
    impact_statement: str = ""
    action_statement: str = ""
    notes: str = ""
    remediations: tuple[Remediation, ...] = ()
    # An affected row's fixed version (its ``fixed`` statement follows, marked
    # ``of_fix``: CycloneDX states it inside the affected entry instead).
    fixed_in: str = ""
    of_fix: bool = False


def document_version(snapshot: AdvisorySnapshot) -> int:
    """The advisory's latest revision number: it grows with every published change."""
    return max((r.number for r in snapshot.revisions), default=1)


def vulnerability_name(snapshot: AdvisorySnapshot, index: int) -> str:
    v = snapshot.vulnerabilities[index]
    if v.cve_id:
        return v.cve_id
    if v.aliases:
        return v.aliases[0]
    unnamed = [i for i, u in enumerate(snapshot.vulnerabilities) if not (u.cve_id or u.aliases)]
    if len(unnamed) > 1:
        return f"{snapshot.identifier}-{unnamed.index(index) + 1}"
    return snapshot.identifier


def vulnerability_aliases(
    snapshot: AdvisorySnapshot, v: VulnerabilitySnapshot, name: str
) -> tuple[str, ...]:
    ids = [*v.aliases, *v.upstream]
    if len(snapshot.vulnerabilities) == 1:
        ids.append(snapshot.identifier)
    return tuple(i for i in dict.fromkeys(ids) if i and i != name)


def product_url(publisher: Publisher, slug: str) -> str:
    return f"{publisher.namespace}/{product_page_path(slug)}"


def product_of(row: AffectedSnapshot, publisher: Publisher, version: str = "") -> Product:
    """The row's product, or one ``version`` of it."""
    version = version or row.version
    purl = row.purl if row.purl and (not version or version == row.version) else ""
    purl = purl or purl_for(row.ecosystem, row.package_name, version)
    page = product_url(publisher, row.product_slug)
    if purl:
        pid = purl
    elif row.cpe and (not version or version == row.version):
        pid = row.cpe
    else:
        pid = page + (f"#version={quote(version, safe='')}" if version else "")
    return Product(
        id=pid,
        name=row.product,
        slug=row.product_slug,
        purl=purl,
        cpe=row.cpe if version == row.version else "",
        version=version,
        vendor=row.vendor,
        deployment=row.deployment,
    )


def vers_of(row: AffectedSnapshot) -> str:
    """The row's range as a ``vers:`` string; "" for one version or every version."""
    for r in row.ranges:
        if r.vers:
            return r.vers
    constraints = []
    if row.introduced and row.introduced != "0":
        constraints.append(f">={row.introduced}")
    if row.fixed:
        constraints.append(f"<{row.fixed}")
    elif row.last_affected:
        constraints.append(f"<={row.last_affected}")
    if not constraints:
        return ""
    versions = [v for v in (row.introduced, row.fixed, row.last_affected) if v and v != "0"]
    scheme = "semver" if all(is_semver(v) for v in versions) else "generic"
    if scheme == "generic" and row.ecosystem in PURL_TYPES:
        scheme = PURL_TYPES[row.ecosystem]
    return f"vers:{scheme}/" + "|".join(constraints)


def action_statement(
    snapshot: AdvisorySnapshot, row: AffectedSnapshot, publisher: Publisher
) -> str:
    """What a customer of an affected product can do: the row's remediations, else the
    fixed version, else the advisory's resolution (OpenVEX requires one for affected)."""
    parts = [remediation_words(r) for r in row.remediations]
    if not parts and row.fixed:
        parts.append(f"Update to {row.fixed} or later.")
    if not parts and snapshot.resolution:
        parts.append(plain_text(snapshot.resolution))
    if not parts:
        parts.append(
            "No fix is available yet; this advisory will be updated."
            if snapshot.status == "reported"
            else f"See {publisher.advisory_url(snapshot.identifier)}."
        )
    return " ".join(p for p in parts if p)


def remediation_words(r: Remediation) -> str:
    words = REMEDIATION_WORDS.get(r.category, r.category.replace("_", " ").capitalize())
    text = f"{words}: {r.details}" if r.details else f"{words}."
    if r.version:
        text += f" (version {r.version})"
    if r.url:
        text += f" {r.url}"
    return text


def vex_statements(snapshot: AdvisorySnapshot, publisher: Publisher) -> list[Statement]:
    """Every statement of ``snapshot``, in the order of its vulnerabilities and rows."""
    out: list[Statement] = []
    seen: set[tuple[Any, ...]] = set()
    for index, v in enumerate(snapshot.vulnerabilities):
        name = vulnerability_name(snapshot, index)
        aliases = vulnerability_aliases(snapshot, v, name)
        for row in v.affected:
            for statement in _row_statements(snapshot, publisher, v, row, name, aliases):
                # Rows differing only in what VEX does not say (region, deployment) state
                # the same; remediations may hold dicts, so they are not part of the key.
                key = astuple(replace(statement, remediations=()))
                if key not in seen:
                    seen.add(key)
                    out.append(statement)
    return out


def _row_statements(
    snapshot: AdvisorySnapshot,
    publisher: Publisher,
    v: VulnerabilitySnapshot,
    row: AffectedSnapshot,
    name: str,
    aliases: tuple[str, ...],
) -> list[Statement]:
    status = snapshot.status_of(row)
    title = v.title or snapshot.title
    base = Statement(
        vulnerability=name,
        aliases=aliases,
        title=title,
        product=product_of(row, publisher),
        status=status,
        versions=row.version_range,
        vers=vers_of(row),
    )
    if snapshot.is_withdrawn:
        reason = snapshot.withdrawn_reason or "no reason given"
        notes = (
            f"{snapshot.identifier} was withdrawn ({reason}); "
            "it no longer states whether this product is affected."
        )
        return [replace(base, status="under_investigation", notes=notes)]
    statement = replace(base, remediations=row.remediations)
    if status == "not_affected":
        justification = row.justification if row.justification in VEX_JUSTIFICATIONS else ""
        impact = row.impact_statement
        if not (justification or impact):
            impact = f"{publisher.name} states that {row.product} is not affected."
        statement = replace(statement, justification=justification, impact_statement=impact)
    elif status == "affected":
        statement = replace(
            statement,
            action_statement=action_statement(snapshot, row, publisher),
            fixed_in=row.fixed,
        )
    elif status == "fixed":
        notes = " ".join(remediation_words(r) for r in row.remediations)
        statement = replace(statement, notes=notes)
    statements = [statement]
    if status == "affected" and row.fixed:
        fixed = product_of(row, publisher, version=row.fixed)
        statements.append(
            replace(
                base,
                product=fixed,
                status="fixed",
                versions=f"{row.fixed} (the fixed version)",
                vers="",
                remediations=row.remediations,
                of_fix=True,
            )
        )
    return statements


def has_vex(snapshot: AdvisorySnapshot) -> bool:
    """Whether ``snapshot`` states anything per product (a VEX document needs a statement)."""
    return any(v.affected for v in snapshot.vulnerabilities)
