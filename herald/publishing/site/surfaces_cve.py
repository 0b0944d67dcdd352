"""CVE Record Format 5.1 on the public site: one record per CVE id of a public advisory.

- ``cve/<CVE-ID>.json``: the full record (``dataType: CVE_RECORD``), ``PUBLISHED``,
  or ``REJECTED`` once the advisory is withdrawn;
- ``cve/<CVE-ID>.cna.json``: the CNA container as CVE Services takes it (the
  published container, or the rejected one with its reason), ready to submit.

Both are validated against the CVE 5.1.1 schemas (``cvelib``'s copies) before
they are stored; a failure refuses the publication naming the advisory field.

A CVE record names its CNA by the organisation id CVE Services gave it. Until the
vendor profile stores it, ``HERALD_CNA_ORG_ID`` (and ``HERALD_CNA_SHORT_NAME``)
in the settings or the environment give it; without it no CVE file is produced.
"""

from __future__ import annotations

from collections.abc import Iterator

from herald.advisories.snapshot import AdvisorySnapshot
from herald.publishing.render.cve5 import (
    render_cna_container,
    render_cve_record,
    render_rejected_container,
)
from herald.publishing.render.publisher import Publisher, json_bytes
from herald.publishing.render.schemas import (
    cna_container_problems,
    cve_record_problems,
    rejected_container_problems,
)
from herald.publishing.site.surfaces import JSON, refuse, site_publisher
from herald.publishing.store.artifacts import BuildContext, Rendered, advisory_builder

PREFIX = "cve/"


def record_path(cve_id: str) -> str:
    return f"{PREFIX}{cve_id}.json"


def container_path(cve_id: str) -> str:
    return f"{PREFIX}{cve_id}.cna.json"


def render_checked(
    snapshot: AdvisorySnapshot, cve_id: str, publisher: Publisher
) -> tuple[bytes, bytes]:
    """The record and the CNA container; ``ValidationError`` naming the field if invalid."""
    record = render_cve_record(snapshot, cve_id, publisher)
    refuse("CVE", f"CVE {cve_id}.json", record, cve_record_problems(record))
    if snapshot.is_withdrawn:
        container = render_rejected_container(snapshot, publisher, cve_id=cve_id)
        problems = rejected_container_problems(container)
    else:
        container = render_cna_container(snapshot, cve_id, publisher)
        problems = cna_container_problems(container)
    # The container's paths are the record's below /containers/cna.
    refuse(
        "CVE",
        f"CVE {cve_id}.cna.json",
        {"containers": {"cna": container}},
        [f"/containers/cna{p}" if p.startswith("/") else p for p in problems],
    )
    return json_bytes(record), json_bytes(container)


@advisory_builder("cve")
def build_cve(snapshot: AdvisorySnapshot, context: BuildContext) -> Iterator[Rendered]:
    publisher = site_publisher(context.profile)
    if not publisher.can_publish_cve:
        # Not a CNA (or not configured yet): CVE files are simply not produced.
        return
    for cve_id in snapshot.cve_ids:
        record, container = render_checked(snapshot, cve_id, publisher)
        yield Rendered(record_path(cve_id), record, JSON)
        yield Rendered(container_path(cve_id), container, JSON)
