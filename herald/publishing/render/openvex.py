"""OpenVEX v0.2.0 documents, one per public advisory (``vex/<identifier>.openvex.json``).

Every statement of ``vex.vex_statements``: per vulnerability and product row its
status, with the justification and impact statement of ``not_affected`` (OpenVEX
requires one of them) and the action statement of ``affected`` (required too).
Deterministic: the same snapshot gives the same bytes (``json_bytes``).
"""

from __future__ import annotations

from typing import Any

from herald.advisories.snapshot import AdvisorySnapshot
from herald.publishing.render.publisher import (
    GENERATOR_NAME,
    GENERATOR_VERSION,
    Publisher,
    json_bytes,
    modified_at,
    utc,
)
from herald.publishing.render.vex import (
    Product,
    Statement,
    document_version,
    openvex_path,
    vex_statements,
)

CONTEXT = "https://openvex.dev/ns/v0.2.0"


def document_url(snapshot: AdvisorySnapshot, publisher: Publisher) -> str:
    return f"{publisher.namespace}/{openvex_path(snapshot.identifier)}"


def render_openvex(snapshot: AdvisorySnapshot, publisher: Publisher) -> dict[str, Any]:
    """The OpenVEX document of ``snapshot`` (``statements`` is empty without product rows:
    such a document is not valid, and ``vex.has_vex`` tells the builder not to write it)."""
    updated = modified_at(snapshot)
    issued = snapshot.published_at or updated
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "@id": document_url(snapshot, publisher),
        "author": publisher.name,
        "role": "Document Creator",
        "timestamp": utc(issued),
        "last_updated": utc(updated),
        "version": document_version(snapshot),
        "tooling": f"{GENERATOR_NAME} {GENERATOR_VERSION}",
        "statements": [_statement(s, publisher) for s in vex_statements(snapshot, publisher)],
    }
    return doc


def render_openvex_bytes(snapshot: AdvisorySnapshot, publisher: Publisher) -> bytes:
    return json_bytes(render_openvex(snapshot, publisher))


def _statement(s: Statement, publisher: Publisher) -> dict[str, Any]:
    vulnerability: dict[str, Any] = {"name": s.vulnerability}
    if s.title:
        vulnerability["description"] = s.title
    if s.aliases:
        vulnerability["aliases"] = list(s.aliases)
    out: dict[str, Any] = {
        "vulnerability": vulnerability,
        "products": [_product(s.product)],
        "status": s.status,
        "supplier": s.product.vendor or publisher.name,
    }
    notes = [f"{s.product.name}: {s.versions}."]
    if s.vers:
        notes[0] = f"{s.product.name}: {s.versions} ({s.vers})."
    if s.notes:
        notes.append(s.notes)
    out["status_notes"] = " ".join(notes)
    if s.justification:
        out["justification"] = s.justification
    if s.impact_statement:
        out["impact_statement"] = s.impact_statement
    if s.action_statement:
        out["action_statement"] = s.action_statement
    return out


def _product(product: Product) -> dict[str, Any]:
    out: dict[str, Any] = {"@id": product.id}
    identifiers: dict[str, str] = {}
    if product.purl:
        identifiers["purl"] = product.purl
    if product.cpe.startswith("cpe:2.3:"):
        identifiers["cpe23"] = product.cpe
    elif product.cpe.startswith("cpe:/"):
        identifiers["cpe22"] = product.cpe
    if identifiers:
        out["identifiers"] = identifiers
    return out
