"""``import_documents``: OSV, CVE and CSAF documents become published advisories.

This writes the records and returns what it wrote; the caller-facing action,
``herald.publication.actions.do_import_documents``, publishes it (artifacts,
outbox, served copy) in the same transaction.

Every file is read and validated before anything is written; then, in one
transaction, each document is matched against the advisories Herald already has
and, if new, created and published through the advisory actions (withdrawn
documents then withdrawn), inside one incident (DESIGN.md rule 1): the one given,
or one declared for the import, its reason naming the files.

Matching, so that importing twice changes nothing the second time: a shared CVE
id, else the source document's URL among the references (the import adds it:
``https://osv.dev/vulnerability/<id>``, the CVE record's page, the CSAF
document's ``self`` URL), else the same title published the same day. A matched
advisory is left as it is, unless the document withdraws it.

Products are found by package (ecosystem and name) or by name, and created when
missing, each creation audited.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.text import slugify

from herald.advisories.actions import (
    Written,
    write_draft,
    write_publication,
    write_source,
    write_withdrawal,
)
from herald.advisories.models import Advisory, Reference
from herald.advisories.queries import with_cve
from herald.advisories.snapshot import SourceSnapshot
from herald.audit.actions import actor_label, record
from herald.core.errors import HeraldError, ValidationError, format_validation_error
from herald.core.models import Product
from herald.core.text import check_text
from herald.incidents.actions import write_declaration
from herald.incidents.models import Incident, Severity
from herald.publishing.importers.documents import (
    FORMATS,
    ParsedDocument,
    ProductSpec,
    parse_document,
    refuse,
)
from herald.publishing.site.surfaces import site_publisher

T = TypeVar("T")
SEVERITY_ORDER = tuple(Severity.values)


@dataclass(frozen=True)
class ImportedDocument:
    file: str
    source_id: str
    identifier: str
    title: str
    outcome: str  # created, withdrawn, source added, unchanged
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DocumentsImport:
    incident: Incident | None
    incident_declared: bool
    documents: tuple[ImportedDocument, ...]
    writes: tuple[Written, ...] = ()  # for the publication function to publish

    def count(self, outcome: str) -> int:
        return sum(1 for d in self.documents if d.outcome == outcome)

    @property
    def changed_anything(self) -> bool:
        return any(d.outcome != "unchanged" for d in self.documents)


def match(parsed: ParsedDocument) -> Advisory | None:
    """The advisory Herald already has for this document, if any."""
    for cve in parsed.cve_ids:
        candidate = with_cve(Advisory.objects.all(), cve).first()
        if candidate is not None:
            return candidate
    if parsed.source_url:
        found = (
            Reference.objects.filter(url=parsed.source_url)
            .select_related("advisory")
            .order_by("advisory_id")
            .first()
        )
        if found is not None:
            return found.advisory
    return (
        Advisory.objects.filter(
            title=parsed.values["title"], published_at__date=parsed.published_at.date()
        )
        .order_by("id")
        .first()
    )


def _product(spec: ProductSpec, *, acting_user: AbstractBaseUser | None) -> Product:
    if spec.ecosystem and spec.package_name:
        found = Product.objects.filter(
            ecosystem=spec.ecosystem, package_name=spec.package_name
        ).first()
    else:
        found = Product.objects.filter(name__iexact=spec.name, ecosystem="").first()
    if found is not None:
        return found
    name = spec.name[:200]
    if Product.objects.filter(name__iexact=name).exists():
        name = f"{spec.name[:180]} ({spec.ecosystem or 'other'})"
    base = slugify(name)[:90] or "product"
    slug, n = base, 1
    while Product.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    product = Product.objects.create(
        name=name,
        slug=slug,
        ecosystem=spec.ecosystem,
        package_name=spec.package_name,
        repository_url=spec.repository_url[:200],
    )
    record(
        acting_user=acting_user,
        action="product.create",
        obj=product,
        after={"name": name, "slug": slug, "ecosystem": spec.ecosystem,
               "package_name": spec.package_name, "reason": "imported"},
    )  # fmt: skip
    return product


def _refused(parsed: ParsedDocument, step: Callable[[], T]) -> T:
    """An action's refusal, as an error naming the file and the field."""
    try:
        return step()
    except ValidationError as exc:
        raise ValidationError({parsed.file: format_validation_error(exc)}) from None
    except HeraldError as exc:
        raise ValidationError({parsed.file: str(exc)}) from None


def _written(
    parsed: ParsedDocument, writes: list[Written], step: Callable[[], Written]
) -> Advisory:
    """One record-level write for ``parsed``, kept in ``writes`` for publication."""
    written = _refused(parsed, step)
    writes.append(written)
    return written.advisory


def _declare(
    files: Sequence[str], parsed: Sequence[ParsedDocument], acting_user: AbstractBaseUser | None
) -> Incident:
    who = actor_label(acting_user)
    named = ", ".join(files[:10]) + (f" and {len(files) - 10} more" if len(files) > 10 else "")
    severities = [p.values.get("severity") or "" for p in parsed if not p.withdrawn_reason]
    return write_declaration(
        title=f"Import of advisory documents: {named}"[:300],
        # Old advisories published elsewhere are not an emergency.
        severity=Severity.LOW if not severities else min(
            (s for s in severities if s in SEVERITY_ORDER), default=Severity.LOW,
            key=SEVERITY_ORDER.index,
        ),
        reason=f"{who} imported {named}; advisories change only within an incident.",
        acting_user=acting_user,
        auto=True,
    )  # fmt: skip


def read_documents(files: Sequence[tuple[str, bytes]], kind: str) -> list[ParsedDocument]:
    """Parse and validate every file; one ``ValidationError`` naming each bad one."""
    if kind not in FORMATS:
        raise ValidationError({"format": f"Unknown format {kind!r}; use {', '.join(FORMATS)}."})
    ecosystem = site_publisher().ecosystem
    parsed: list[ParsedDocument] = []
    errors: dict[str, list[str]] = {}
    for name, raw in files:
        try:
            document = parse_document(name, raw, kind, vendor_ecosystem=ecosystem)
            check_product_names(document)
            parsed.append(document)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return parsed


def check_product_names(parsed: ParsedDocument) -> None:
    """Products are created before the advisory's own text is checked; their names
    pass the same gatekeeper first, so that a refused one names its document."""
    problems: list[str] = []
    for row in parsed.rows:
        for what, value in (("product name", row.product.name),
                            ("package name", row.product.package_name)):  # fmt: skip
            try:
                check_text(value, what)
            except ValidationError as exc:
                problems += format_validation_error(exc)
    refuse(parsed.file, dict.fromkeys(problems))


def import_documents(
    files: Sequence[tuple[str, bytes]],
    kind: str,
    *,
    acting_user: AbstractBaseUser | None,
    incident: Incident | None = None,
) -> DocumentsImport:
    """Import ``files`` (name, bytes) of format ``kind``: all of them, or nothing."""
    if incident is not None and not incident.is_open:
        raise HeraldError(f"{incident.identifier} is resolved; name an open incident.")
    parsed = read_documents(files, kind)
    # Oldest first: identifiers then grow with the documents' publication dates.
    parsed.sort(key=lambda p: p.published_at)
    declared = False
    done: list[ImportedDocument] = []
    writes: list[Written] = []
    with transaction.atomic():
        pending = [p for p in parsed if _outcome(p, match(p)) != "unchanged"]
        if pending and incident is None:
            incident = _declare([name for name, _ in files], pending, acting_user)
            declared = True
        for doc in parsed:
            done.append(_apply(doc, acting_user=acting_user, incident=incident, writes=writes))
    return DocumentsImport(
        incident=incident if any(d.outcome != "unchanged" for d in done) else None,
        incident_declared=declared,
        documents=tuple(done),
        writes=tuple(writes),
    )


def _outcome(parsed: ParsedDocument, existing: Advisory | None) -> str:
    if existing is None:
        return "created"
    if parsed.withdrawn_reason and existing.state == Advisory.State.PUBLISHED:
        return "withdrawn"
    if _new_source(parsed, existing) is not None:
        return "source added"
    return "unchanged"


def _new_source(
    parsed: ParsedDocument, existing: Advisory
) -> tuple[SourceSnapshot, dict[str, Any]] | None:
    """The document as a source the matched advisory does not have yet (another
    source's document about the same CVE), or None."""
    if parsed.detail is None or not parsed.detail.sources:
        return None
    source, document = parsed.detail.sources[0]
    if existing.sources.filter(kind=source.kind, source_id=source.id[:200]).exists():
        return None
    if existing.state == Advisory.State.WITHDRAWN:
        return None  # a withdrawn advisory no longer changes
    return source, document


def _apply(
    parsed: ParsedDocument,
    *,
    acting_user: AbstractBaseUser | None,
    incident: Incident | None,
    writes: list[Written],
) -> ImportedDocument:
    existing = match(parsed)
    if existing is not None and existing.state == Advisory.State.DRAFT:
        raise ValidationError(
            {
                parsed.file: f"matches {existing.identifier}, an unpublished draft; publish or "
                "discard it from the desk before importing"
            }
        )
    outcome = _outcome(parsed, existing)
    advisory = existing
    if outcome == "source added":
        assert existing is not None and incident is not None
        added = _new_source(parsed, existing)
        assert added is not None
        advisory = _written(
            parsed,
            writes,
            lambda: write_source(
                existing, added[0], added[1], acting_user=acting_user, incident=incident
            ),
        )
    if outcome == "created":
        assert incident is not None
        affected = [
            {
                "product": _product(row.product, acting_user=acting_user),
                "deployment": row.deployment,
                "introduced": row.introduced,
                "fixed": row.fixed,
                "last_affected": row.last_affected,
                "status": row.status,
            }
            for row in parsed.rows
        ]
        draft = _written(
            parsed,
            writes,
            lambda: write_draft(
                acting_user=acting_user,
                incident=incident,
                affected=affected,
                credits=parsed.credits,
                references=parsed.references,
                detail=parsed.detail,
                **parsed.values,
            ),
        )
        advisory = _written(
            parsed,
            writes,
            lambda: write_publication(
                draft,
                acting_user=acting_user,
                incident=incident,
                published_at=parsed.published_at,
                outreach_waiver_reason="",
            ),
        )
    if parsed.withdrawn_reason and outcome in ("created", "withdrawn"):
        assert advisory is not None and incident is not None
        public = advisory
        advisory = _written(
            parsed,
            writes,
            lambda: write_withdrawal(
                public, acting_user=acting_user, incident=incident, reason=parsed.withdrawn_reason
            ),
        )
        outcome = "created" if outcome == "created" else "withdrawn"
    assert advisory is not None
    return ImportedDocument(
        file=parsed.file,
        source_id=parsed.source_id,
        identifier=advisory.identifier,
        title=advisory.title,
        outcome=outcome,
        notes=tuple(parsed.notes),
    )
