"""VEX on the public site: what each advisory says per vulnerability and product,
not affected included, in the two VEX formats and on one page per product.

- ``vex/<identifier>.openvex.json``: OpenVEX 0.2.0 (``render.openvex``);
- ``vex/<identifier>.cdx.json``: CycloneDX 1.6 VEX (``render.cyclonedx_vex``);
- ``security/products/<slug>/vex/``: every vulnerability of the published advisories
  with its status for that product (``render.pages.product_page_context``,
  which keeps each advisory's rows between publications).

An advisory without product rows states nothing per product and gets no VEX file (an
OpenVEX document needs a statement). Both documents are validated before they are
stored (OpenVEX's rules by code: the statements' required fields; CycloneDX with
cyclonedx-python-lib's strict 1.6 validator); a failure refuses the publication
naming the advisory field. A withdrawn advisory's files are written again with its
statements "under investigation" and the reason (see ``render.vex``).

The CSAF provider metadata does not list them: its schema is closed and its
distributions hold CSAF documents only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from herald.advisories.models import Advisory
from herald.advisories.snapshot import VEX_JUSTIFICATIONS, AdvisorySnapshot
from herald.core.models import Product
from herald.publishing.render import pages
from herald.publishing.render.cyclonedx_vex import cyclonedx_problems, render_cyclonedx_vex
from herald.publishing.render.openvex import render_openvex
from herald.publishing.render.publisher import json_bytes
from herald.publishing.render.vex import cyclonedx_path, has_vex, openvex_path, product_page_path
from herald.publishing.site.surfaces import JSON, refuse, site_publisher
from herald.publishing.store.artifacts import (
    BuildContext,
    Rendered,
    advisory_builder,
    site_builder,
    warmer,
)

HTML = "text/html; charset=utf-8"
STATUSES = {"affected", "fixed", "not_affected", "under_investigation"}


def openvex_problems(doc: dict[str, Any]) -> list[str]:
    """What OpenVEX 0.2.0 requires of the statements Herald writes ("path: message"); the
    official schema checks the whole document in the tests and ``world``."""
    problems = []
    for key in ("@context", "@id", "author", "timestamp", "version"):
        if not doc.get(key):
            problems.append(f"/{key}: is required")
    statements = doc.get("statements") or []
    if not statements:
        problems.append("/statements: needs at least one statement")
    for i, s in enumerate(statements):
        here = f"/statements/{i}"
        if not s.get("vulnerability", {}).get("name"):
            problems.append(f"{here}/vulnerability/name: is required")
        status = s.get("status")
        if status not in STATUSES:
            problems.append(f"{here}/status: {status!r} is not an OpenVEX status")
        if status == "not_affected" and not (s.get("justification") or s.get("impact_statement")):
            problems.append(f"{here}: not_affected needs a justification or an impact statement")
        if s.get("justification") and s["justification"] not in VEX_JUSTIFICATIONS:
            problems.append(f"{here}/justification: {s['justification']!r} is not a justification")
        if status == "affected" and not s.get("action_statement"):
            problems.append(f"{here}/action_statement: is required for affected")
    return problems


@advisory_builder("vex")
def build_vex(snapshot: AdvisorySnapshot, context: BuildContext) -> Iterator[Rendered]:
    if not has_vex(snapshot):
        return
    publisher = site_publisher(context.profile)
    openvex = render_openvex(snapshot, publisher)
    refuse("OpenVEX", f"OpenVEX {snapshot.identifier}", openvex, openvex_problems(openvex))
    cyclonedx = render_cyclonedx_vex(snapshot, publisher)
    refuse(
        "CycloneDX", f"CycloneDX {snapshot.identifier}", cyclonedx, cyclonedx_problems(cyclonedx)
    )
    yield Rendered(openvex_path(snapshot.identifier), json_bytes(openvex), JSON)
    yield Rendered(cyclonedx_path(snapshot.identifier), json_bytes(cyclonedx), JSON)


def _products(context: BuildContext) -> Iterable[Product]:
    if context.everything:
        return Product.objects.filter(
            affected__advisory__state__in=(Advisory.State.PUBLISHED, Advisory.State.WITHDRAWN)
        ).distinct()
    slugs = {row.product_slug for a in context.changed for row in a.affected}
    return Product.objects.filter(slug__in=slugs) if slugs else ()


@site_builder("vex-products")
def product_pages(context: BuildContext) -> Iterator[Rendered]:
    """The pages of the changed advisories' products (of every product on a full rebuild)."""
    if context.everything:
        pages.forget_product_rows()  # a full rebuild trusts nothing kept
    for product in _products(context):
        html = pages.render_product_vex(context.profile, product)
        yield Rendered(product_page_path(product.slug) + "index.html", html.encode(), HTML)


@warmer("vex-products")
def _warm_product_rows(profile: Any) -> None:
    # Renders every product's rows (storing nothing): a process's first publication
    # then renders only its own advisory's rows.
    for product in _products(BuildContext(profile=profile, everything=True)):
        pages.product_page_context(profile, product)
