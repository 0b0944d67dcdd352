"""The record-level writes of advisories: the record, its revision, its audit row.

These functions write the advisory and nothing downstream of it: no artifact is
rendered, no message queued, no reporter told. They are named ``write_*``, not
``do_*``, so that nobody calls one by mistake for a publication: the caller-facing
actions (``do_publish_advisory``, ``do_update_advisory``, ...) are in
``herald.publication.actions``, which calls these first and then, visibly, every
consequence. Each returns a ``Written``: what it wrote, for that caller to act on.

Each write runs in one transaction and enforces DESIGN.md's rules:

1. no change outside an open incident (one is declared automatically if needed);
2. the timeline runs discovered <= reported <= fixed <= disclosed, and fixed or
   resolved advisories carry a fixed date;
4. publishing an advisory with a confirmed exposure or required user action
   creates its outreach campaign in the same transaction, unless a waiver
   (who, why) is recorded;
5. a public advisory never returns to draft; every change to it is a revision
   with a change summary, a withdrawal included;
6. the audit event is written in the same transaction as the change.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from herald.advisories.fields import FIELDS, fields_of_kind, shorthand_fields
from herald.advisories.models import (
    Advisory,
    Affected,
    Credit,
    Reference,
    Revision,
    SourceDocument,
    Vulnerability,
)
from herald.advisories.rules import (
    Blocker,
    check_no_blockers,
    outreach_required,
    publish_blockers,
    publish_values,
)
from herald.advisories.snapshot import (
    REMEDIATION_CATEGORIES,
    VEX_JUSTIFICATIONS,
    AdvisorySnapshot,
    AffectedSnapshot,
    SourceSnapshot,
    VulnerabilitySnapshot,
    snapshot_json,
    snapshot_of,
)
from herald.advisories.validation import (
    check_cve_ids,
    check_cvss,
    check_cwe_ids,
    check_publishable,
    check_severity,
    check_status,
    check_timeline,
)
from herald.audit.actions import actor_label, record
from herald.core.errors import ConflictError, HeraldError, ValidationError
from herald.core.ids import draft_identifier, next_identifier
from herald.core.models import Product, VendorProfile
from herald.core.text import Kind, check_text, uri
from herald.incidents.actions import add_event, write_declaration
from herald.incidents.models import Incident, IncidentEvent, Severity
from herald.incidents.queries import open_incidents

# Every list below reads the one declaration (herald.advisories.fields).
TEXT_FIELDS = fields_of_kind("line", "markdown")
DATE_FIELDS = fields_of_kind("date")
BOOL_FIELDS = fields_of_kind("bool")
EDITABLE_FIELDS = tuple(FIELDS)
# What each text field may hold (herald.core.text, the one gatekeeper): titles and
# summaries are one line of plain text; the rest are Markdown.
TEXT_KINDS: dict[str, Kind] = {
    name: kind for name in TEXT_FIELDS if (kind := FIELDS[name].text_kind) is not None
}
RowT = TypeVar("RowT", Affected, Credit, Reference)
MAX_TEXT = {name: FIELDS[name].max_length or 0 for name in TEXT_FIELDS}


@dataclass(frozen=True)
class Written:
    """What one record-level write did, for the publication function to act on."""

    advisory: Advisory
    revision: Revision | None = None  # the public revision it added, if any
    declared: Incident | None = None  # the incident declared for it (rule 1), if any
    outreach: bool = False  # rule 4: a first publication whose campaign is to be created


# ---------------------------------------------------------------- cleaning input


def _collect(
    errors: dict[str, list[str]], check: Callable[..., Any], *args: Any, **kwargs: Any
) -> Any:
    try:
        return check(*args, **kwargs)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
        return None


def _as_date(value: Any, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError({field: f"{str(value)[:40]!r} is not a date (YYYY-MM-DD)."}) from None


def _as_datetime(value: Any, field: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        try:
            parsed = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise ValidationError(
                {field: f"{str(value)[:40]!r} is not a date and time (ISO 8601)."}
            ) from None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, dt.UTC)
    return parsed


def regions_named_in(text: str, regions: Iterable[str]) -> list[str]:
    """The vendor's regions that the prose names as words, in the vendor's order."""
    return [r for r in regions if re.search(rf"(?<![\w-]){re.escape(r)}(?![\w-])", text or "")]


def _clean_fields(values: Mapping[str, Any], errors: dict[str, list[str]]) -> dict[str, Any]:
    """Normalise and validate each given field; every bad one's message goes to ``errors``.

    A bad value is cleaned to nothing (``None``, ``[]``), so the whole advisory can
    still be checked for the other fields' problems.
    """
    for name in sorted(set(values) - set(EDITABLE_FIELDS)):
        errors.setdefault(name, []).append("Not a field of an advisory.")
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        if name not in EDITABLE_FIELDS:
            continue
        if name in TEXT_FIELDS:
            text = _collect(errors, check_text, value, name, kind=TEXT_KINDS[name])
            if text is None:
                continue
            if len(text) > MAX_TEXT[name]:
                errors.setdefault(name, []).append(
                    f"Too long: {len(text)} characters, at most {MAX_TEXT[name]}."
                )
            cleaned[name] = text
        elif name in DATE_FIELDS:
            cleaned[name] = _collect(errors, _as_date, value, name)
        elif name in BOOL_FIELDS:
            cleaned[name] = bool(value)
        elif name == "cve_ids":
            cleaned[name] = _collect(errors, check_cve_ids, value) or []
        elif name == "cwe_ids":
            cleaned[name] = _collect(errors, check_cwe_ids, value) or []
        elif name == "severity":
            cleaned[name] = _collect(errors, check_severity, value) or ""
        elif FIELDS[name].kind == "vector":
            cleaned[name] = value or ""
        elif name == "status":
            cleaned[name] = str(value or "").strip().lower()
        elif FIELDS[name].kind == "datetime":
            cleaned[name] = _collect(errors, _as_datetime, value, name)
        elif name == "affected_regions":
            regions = (
                value if isinstance(value, (list, tuple)) else re.split(r"[\s,]+", str(value or ""))
            )
            cleaned[name] = [str(r).strip().upper() for r in regions if str(r).strip()]
        else:  # a declared field nobody taught to clean: fail loudly, never drop it
            raise TypeError(f"No cleaning for the advisory field {name!r} ({FIELDS[name].kind}).")
    return cleaned


def _add_whole_errors(
    errors: dict[str, list[str]],
    cleaned: Mapping[str, Any],
    advisory: Advisory | None,
    change_summary: str,
) -> None:
    """Add the problems of the advisory these values would make, for fields not yet named.

    Nothing is saved: the advisory is built (or read again) only to be checked,
    so that one answer names every problem instead of the first few.
    """
    if advisory is None:
        preview = Advisory(**cleaned)
    else:
        preview = Advisory.objects.select_related("incident").get(pk=advisory.pk)
        _apply_fields(preview, cleaned)
    whole: dict[str, list[str]] = {}
    _check_whole(preview, whole)
    if advisory is not None:
        _collect(whole, _require_summary, preview, change_summary)
        if preview.is_public:
            _collect(whole, lambda: check_publishable(publish_values(preview)))
    for field, messages in whole.items():
        if field not in errors:
            errors[field] = messages


def _checked_input(
    values: Mapping[str, Any],
    affected: Iterable[Mapping[str, Any]] | None,
    credits: Iterable[Mapping[str, Any]] | None,
    references: Iterable[Mapping[str, Any]] | None,
    *,
    advisory: Advisory | None,
    change_summary: str = "",
) -> tuple[
    dict[str, Any],
    tuple[list[Affected] | None, list[Credit] | None, list[Reference] | None],
    dict[str, list[str]],
]:
    """The cleaned fields and rows, and every problem with them (see ``advisory_input_errors``)."""
    errors: dict[str, list[str]] = {}
    cleaned = _clean_fields(values, errors)
    rows = _collect(
        errors,
        _clean_rows,
        None if affected is None else list(affected),
        None if credits is None else list(credits),
        None if references is None else list(references),
    )
    if errors:
        _add_whole_errors(errors, cleaned, advisory, change_summary)
    return cleaned, rows or (None, None, None), errors


def advisory_input_errors(
    values: Mapping[str, Any],
    *,
    affected: Iterable[Mapping[str, Any]] | None = None,
    credits: Iterable[Mapping[str, Any]] | None = None,
    references: Iterable[Mapping[str, Any]] | None = None,
    advisory: Advisory | None = None,
    change_summary: str = "",
) -> dict[str, list[str]]:
    """Every problem ``do_create_advisory`` (or ``do_update_advisory`` of ``advisory``)
    would find in this input, by field; nothing is written.

    For an interface that refuses input of its own first (the CLI's ``--incident``,
    ``--as``): it adds these, and the person sees every problem at once.
    """
    cleaned, _, errors = _checked_input(
        values, affected, credits, references, advisory=advisory, change_summary=change_summary
    )
    if not errors:  # else already checked whole
        _add_whole_errors(errors, cleaned, advisory, change_summary)
    return errors


def preview_input(
    values: Mapping[str, Any], *, advisory: Advisory | None
) -> tuple[Advisory, dict[str, list[str]]]:
    """The advisory ``write_draft`` (or ``write_update`` of ``advisory``) would make of
    ``values``, unsaved, and every problem with it by field: the writes' own cleaning
    and checks, for the editor's preview. A bad value is left out, so a half-written
    advisory still previews. Values that are not fields of an advisory are ignored.
    """
    errors: dict[str, list[str]] = {}
    cleaned = _clean_fields({k: v for k, v in values.items() if k in EDITABLE_FIELDS}, errors)
    if advisory is None:
        preview = Advisory(**cleaned)
        if not preview.affected_regions and preview.affected_users:
            preview.affected_regions = regions_named_in(
                preview.affected_users, VendorProfile.get().regions or []
            )
    else:
        preview = Advisory.objects.select_related("incident").get(pk=advisory.pk)
        _apply_fields(preview, cleaned)
    _check_whole(preview, errors)
    return preview, errors


def _check_whole(advisory: Advisory, errors: dict[str, list[str]]) -> None:
    """Rules that concern the advisory as a whole, after the changes are applied."""
    scores: dict[str, Any] = {}
    for field in ("cvss_v3_vector", "cvss_v4_vector"):
        scored = _collect(errors, check_cvss, getattr(advisory, field), field)
        if scored is not None:
            setattr(advisory, field, scored.vector)
        setattr(advisory, field.replace("vector", "score"), scored.score if scored else None)
        scores[field] = scored
    derived = scores["cvss_v4_vector"] or scores["cvss_v3_vector"]
    if derived is not None:
        # Severity follows the score whenever there is one (v4 first): a hand-set
        # severity that disagrees with the vector would mislead every reader.
        advisory.severity = derived.severity
    _collect(errors, lambda: check_status(advisory.status, advisory.fixed_at))
    _collect(errors, lambda: check_timeline({f: getattr(advisory, f) for f in DATE_FIELDS}))
    if not (advisory.title or "").strip():
        errors.setdefault("title", []).append("An advisory needs a title.")
    _collect(errors, check_cve_unused, advisory)
    _collect(errors, check_title_unused_that_day, advisory)
    regions = VendorProfile.get().regions or []
    if regions:
        unknown = [r for r in advisory.affected_regions if r not in regions]
        if unknown:
            errors.setdefault("affected_regions", []).append(
                f"Unknown region(s) {', '.join(unknown)}; "
                f"the vendor's regions are {', '.join(regions)}."
            )


def check_cve_unused(advisory: Advisory) -> None:
    """One advisory per CVE: every consumer (the handbook page, OSV aliases, CVE
    records) keys advisories by it, and two would contradict each other."""
    for cve in advisory.cve_ids:
        taken = Vulnerability.objects.filter(cve_id=cve).exclude(advisory_id=advisory.pk)
        other = Advisory.objects.filter(pk__in=taken.values("advisory_id")).order_by("id").first()
        if other is not None:
            raise ValidationError(
                {
                    "cve_ids": f"{cve} is already the CVE of {other.identifier} "
                    f"({other.title[:80]}); change that advisory instead of adding another."
                }
            )


def check_title_unused_that_day(advisory: Advisory) -> None:
    """Two public advisories with one title on one day are one block twice on the
    handbook page, which names advisories by title and date; the page could not be
    read back."""
    if advisory.published_at is None:
        return
    day = advisory.published_at.astimezone(dt.UTC).date()
    title = " ".join(advisory.title.split()).casefold()
    same_day = (
        Advisory.objects.filter(published_at__date=day)
        .exclude(pk=advisory.pk)
        .exclude(state=Advisory.State.DRAFT)
    )
    for other in same_day.only("identifier", "title"):
        if " ".join(other.title.split()).casefold() == title:
            raise ValidationError(
                {
                    "title": f"{other.identifier}, published the same day, has this title; "
                    "give this advisory a title of its own."
                }
            )


def _product(ref: Any) -> Product | None:
    if isinstance(ref, Product):
        return ref
    text = str(ref or "").strip()
    if not text:
        return None
    return (
        Product.objects.filter(slug=text).first()
        or Product.objects.filter(name__iexact=text).first()
    )


def _known_products(shown: int = 20) -> str:
    """The products a row may name, for the message that refuses an unknown one."""
    slugs = list(Product.objects.order_by("slug").values_list("slug", flat=True)[: shown + 1])
    if not slugs:
        return "there are no products yet: add one first."
    more = " and more" if len(slugs) > shown else ""
    return f"the products are {', '.join(slugs[:shown])}{more}."


def _clean_rows(
    affected: Iterable[Mapping[str, Any]] | None,
    credits: Iterable[Mapping[str, Any]] | None,
    references: Iterable[Mapping[str, Any]] | None,
) -> tuple[list[Affected] | None, list[Credit] | None, list[Reference] | None]:
    errors: dict[str, list[str]] = {}
    affected_rows: list[Affected] | None = None
    credit_rows: list[Credit] | None = None
    reference_rows: list[Reference] | None = None
    regions = VendorProfile.get().regions or []
    if affected is not None:
        affected_rows = []
        for i, row in enumerate(affected):
            product = _product(row.get("product"))
            if product is None:
                errors.setdefault("affected", []).append(
                    f"Row {i + 1}: unknown product {str(row.get('product'))[:80]!r}; "
                    + _known_products()
                )
                continue
            item = Affected(
                product=product,
                deployment=row.get("deployment") or Affected.Deployment.CLOUD,
                region=str(row.get("region") or "").upper(),
                introduced=str(row.get("introduced") or "").strip(),
                fixed=str(row.get("fixed") or "").strip(),
                last_affected=str(row.get("last_affected") or "").strip(),
                status=row.get("status") or Affected.Status.AFFECTED,
                position=i,
            )
            if item.deployment not in Affected.Deployment.values:
                errors.setdefault("affected", []).append(
                    f"Row {i + 1}: unknown deployment {item.deployment!r}; use one of "
                    f"{', '.join(Affected.Deployment.values)}."
                )
            if item.status not in Affected.Status.values:
                errors.setdefault("affected", []).append(
                    f"Row {i + 1}: unknown status {item.status!r}."
                )
            if item.region and regions and item.region not in regions:
                errors.setdefault("affected", []).append(
                    f"Row {i + 1}: unknown region {item.region!r}; use one of {', '.join(regions)}."
                )
            if item.fixed and item.last_affected:
                errors.setdefault("affected", []).append(
                    f"Row {i + 1}: give the fixed version or the last affected one, not both."
                )
            affected_rows.append(item)
    if credits is not None:
        credit_rows = []
        for i, row in enumerate(credits):
            name = _collect(errors, check_text, row.get("name"), f"credits[{i + 1}].name") or ""
            contact = _collect(errors, check_text, row.get("contact"), f"credits[{i + 1}].contact")
            ctype = str(row.get("type") or Credit.Type.FINDER).upper()
            if not name:
                errors.setdefault("credits", []).append(f"Credit {i + 1}: needs a name.")
            if ctype not in Credit.Type.values:
                errors.setdefault("credits", []).append(f"Credit {i + 1}: unknown type {ctype!r}.")
            credit_rows.append(
                Credit(
                    name=name[:200],
                    type=ctype,
                    contact=(contact or "")[:300],
                    position=i,
                )
            )
    if references is not None:
        reference_rows = []
        for i, row in enumerate(references):
            url = _collect(errors, check_text, row.get("url"), f"references[{i + 1}].url") or ""
            url = uri(url.strip())  # "<", '"' or a space is no part of a URI: escaped
            rtype = str(row.get("type") or Reference.Type.WEB).upper()
            if not re.match(r"^https?://[^\s/$.?#][^\s]*$", url) or len(url) > 1000:
                errors.setdefault("references", []).append(
                    f"Reference {i + 1}: {url[:80]!r} is not an http(s) URL."
                )
            if rtype not in Reference.Type.values:
                errors.setdefault("references", []).append(
                    f"Reference {i + 1}: unknown type {rtype!r}."
                )
            reference_rows.append(Reference(url=url, type=rtype, position=i))
    if errors:
        raise ValidationError(errors)
    return affected_rows, credit_rows, reference_rows


def _replace_rows(
    advisory: Advisory,
    affected: list[Affected] | None,
    credits: list[Credit] | None,
    references: list[Reference] | None,
) -> None:
    if affected is not None:
        # The one-form rows: those that hold for every vulnerability. A vulnerability's
        # own rows (imported, or set per vulnerability) are not the form's to replace.
        advisory.affected.filter(vulnerability__isnull=True).delete()
        Affected.objects.bulk_create(_owned(affected, advisory))
    if credits is not None:
        advisory.credits.all().delete()
        Credit.objects.bulk_create(_owned(credits, advisory))
    if references is not None:
        advisory.references.all().delete()
        Reference.objects.bulk_create(_owned(references, advisory))


def _owned(rows: list[RowT], advisory: Advisory) -> list[RowT]:
    for row in rows:
        row.advisory = advisory
    return rows


# ---------------------------------------------------------------- incidents (rule 1)


def _resolve_incident(
    advisory: Advisory | None,
    incident: Incident | None,
    *,
    acting_user: AbstractBaseUser | None,
    doing: str,
    severity: str,
) -> tuple[Incident, Incident | None]:
    """The open incident this change happens in, and the one it declared when none was
    open (rule 1; the caller announces it like any declaration)."""
    if incident is not None:
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if not incident.is_open:
            raise ValidationError(
                {
                    "incident": f"{incident.identifier} is resolved. Choose an open incident, "
                    "or leave it empty and Herald will declare one."
                }
            )
        return incident, None
    if advisory is not None:
        current = Incident.objects.select_for_update().get(pk=advisory.incident_id)
        if current.is_open:
            return current, None
    else:
        candidates = list(open_incidents().values_list("identifier", flat=True)[:5])
        if candidates:
            raise ValidationError(
                {
                    "incident": "Choose the incident this advisory belongs to; open: "
                    + ", ".join(candidates)
                    + "."
                }
            )
    # The reason says what was true, in plain words: an advisory keeps to its own
    # incident, so a resolved one gets a new incident even when others are open.
    if advisory is not None:
        reason = (
            f"{advisory.incident.identifier} was resolved; "
            f"declared to {doing} {advisory.identifier}."
        )
        title = f"Change to advisory {advisory.identifier}: {advisory.title}"[:300]
    else:
        reason = f"No incident was open; declared to {doing}."
        title = "Advisory drafted with no incident open"
    declared = write_declaration(
        title=title,
        severity=severity if severity in Severity.values else Severity.MEDIUM,
        reason=reason,
        acting_user=acting_user,
        auto=True,
    )
    return declared, declared


# ---------------------------------------------------------------- the actions


def _lock(advisory: Advisory, expected_version: int | None) -> Advisory:
    current = Advisory.objects.select_for_update().select_related("incident").get(pk=advisory.pk)
    if expected_version is not None and current.version != expected_version:
        raise ConflictError(
            f"{current.identifier} was changed by someone else since you opened it "
            f"(you edited version {expected_version}, it is now version {current.version}, "
            f"saved {current.updated_at:%Y-%m-%d %H:%M} UTC). Reload it and apply your "
            "changes again; nothing was saved."
        )
    return current


def _write_revision(
    advisory: Advisory, kind: str, summary: str, incident: Incident, who: str
) -> Revision:
    last = advisory.revisions.aggregate(n=Max("number"))["n"] or 0
    return Revision.objects.create(
        advisory=advisory,
        number=last + 1,
        kind=kind,
        summary=summary,
        snapshot=snapshot_of(advisory, with_history=False).to_dict(),
        incident=incident,
        created_at=timezone.now(),
        created_by=who,
    )


def _require_summary(advisory: Advisory, change_summary: str) -> str:
    summary = check_text(change_summary, "change_summary")
    if advisory.is_public and not summary:
        raise ValidationError(
            {
                "change_summary": f"{advisory.identifier} is public: say what changed, in a "
                "sentence, for its revision history."
            }
        )
    return summary


@dataclass(frozen=True)
class Detail:
    """What a document says beyond the one form: its vulnerabilities, each with its own
    product rows, and the documents it came from (each with the document as it came)."""

    vulnerabilities: tuple[VulnerabilitySnapshot, ...]
    sources: tuple[tuple[SourceSnapshot, dict[str, Any]], ...] = ()

    def shorthand(self) -> dict[str, Any]:
        """The derived one-form values, so the draft's checks (one advisory per CVE,
        severity from the score) see what the vulnerabilities say."""
        whole = AdvisorySnapshot(
            identifier="", title="", state="draft", status="", severity="",
            vulnerabilities=self.vulnerabilities,
        )  # fmt: skip
        return {
            "cve_ids": list(whole.cve_ids),
            "cvss_v3_vector": whole.cvss_v3_vector,
            "cvss_v4_vector": whole.cvss_v4_vector,
        }


def write_draft(
    *,
    acting_user: AbstractBaseUser | None,
    incident: Incident | None = None,
    affected: Iterable[Mapping[str, Any]] = (),
    credits: Iterable[Mapping[str, Any]] = (),
    references: Iterable[Mapping[str, Any]] = (),
    detail: Detail | None = None,
    **values: Any,
) -> Written:
    """Create a draft. It is private to the desk until published. ``detail`` (an
    imported document's vulnerabilities and sources) stands for the one-form shorthand
    and product rows."""
    if detail is not None:
        values = {k: v for k, v in values.items() if k not in shorthand_fields()}
        values.update(detail.shorthand())
    cleaned, rows, errors = _checked_input(values, affected, credits, references, advisory=None)
    if errors:
        raise ValidationError(errors)
    who = actor_label(acting_user)
    profile = VendorProfile.get()
    with transaction.atomic():
        now = timezone.now()
        advisory = Advisory(created_at=now, updated_at=now, created_by=who, **cleaned)
        if not advisory.affected_regions and advisory.affected_users:
            advisory.affected_regions = regions_named_in(advisory.affected_users, profile.regions)
        _check_whole(advisory, errors)
        if errors:
            raise ValidationError(errors)
        advisory.incident, declared = _resolve_incident(
            None,
            incident,
            acting_user=acting_user,
            # Not the title: everyone who reads incidents would read a draft's title.
            doing="draft an advisory",
            severity=advisory.severity,
        )
        # The public number comes at publication (DESIGN rule 3: a gap in published
        # numbers would count the drafts); until then a random handle names it.
        advisory.identifier = draft_identifier(profile.advisory_prefix, now.year)
        advisory.save()
        if detail is None:
            store_vulnerabilities(advisory)
        else:
            store_detail(advisory, detail, acting_user=acting_user)
        _replace_rows(advisory, *rows)
        add_event(
            advisory.incident,
            IncidentEvent.Kind.ADVISORY,
            f"Advisory {advisory.identifier} drafted: {advisory.title}",
            actor=who,
        )
        record(
            acting_user=acting_user,
            actor=who,
            action="advisory.create",
            obj=advisory,
            after=snapshot_of(advisory, with_history=False).to_dict(),
        )
    return Written(advisory, declared=declared)


def write_update(
    advisory: Advisory,
    *,
    acting_user: AbstractBaseUser | None,
    expected_version: int | None = None,
    change_summary: str = "",
    incident: Incident | None = None,
    affected: Iterable[Mapping[str, Any]] | None = None,
    credits: Iterable[Mapping[str, Any]] | None = None,
    references: Iterable[Mapping[str, Any]] | None = None,
    **values: Any,
) -> Written:
    """Change fields. On a public advisory this writes a new revision (rule 5)."""
    cleaned, rows, errors = _checked_input(
        values, affected, credits, references, advisory=advisory, change_summary=change_summary
    )
    if errors:
        raise ValidationError(errors)
    return _change(
        advisory,
        acting_user=acting_user,
        expected_version=expected_version,
        incident=incident,
        action="advisory.update",
        # "doing" for a reason ("declared to update X"), "done" for the timeline.
        doing="update",
        done="updated",
        change_summary=change_summary,
        apply=lambda a: _apply_fields(a, cleaned),
        rows=rows,
    )


def write_source(
    advisory: Advisory,
    source: SourceSnapshot,
    document: dict[str, Any],
    *,
    acting_user: AbstractBaseUser | None,
    incident: Incident | None = None,
) -> Written:
    """Record another document about the same vulnerability (another vendor's advisory
    naming its CVE) as a source of ``advisory``: kept whole, listed with the advisory,
    a new revision when it is public. Never dropped silently, never merged into what
    the advisory's own author states."""

    def add(a: Advisory) -> None:
        _source_row(a, a.sources.count(), source, document, timezone.now()).save()

    return _change(
        advisory,
        acting_user=acting_user,
        expected_version=None,
        incident=incident,
        action="advisory.source",
        doing="record a source of",
        done="given another source",
        change_summary=f"Also described by {source.kind.upper()} {source.id}"[:500],
        apply=add,
    )


def _shared_now(vulns: list[Vulnerability], name: str) -> Any:
    """What every vulnerability says for a shared field, or ``_DIFFERS``."""
    values = {json.dumps(getattr(v, name), default=str) for v in vulns}
    return getattr(vulns[0], name) if len(values) == 1 else _DIFFERS


_DIFFERS = object()


def _comparable(value: Any) -> str:
    return json.dumps(list(value) if isinstance(value, (list, tuple)) else value, default=str)


def store_vulnerabilities(advisory: Advisory) -> None:
    """Store what the one-form shorthand set (``Advisory.pending_shorthand``) on the
    advisory's vulnerabilities: one per CVE id, a vulnerability kept by its CVE (with
    everything else it holds), a new one for a new CVE, and each given weakness or
    score on every vulnerability. A value that equals what they hold changes nothing;
    changing a weakness or score that the vulnerabilities hold differently is refused,
    naming the field: it would overwrite each one's own. Every advisory has at least one
    vulnerability (one without a CVE when it names none)."""
    pending = dict(advisory.pending_shorthand)
    advisory.pending_shorthand.clear()
    advisory.__dict__.get("_prefetched_objects_cache", {}).pop("vulnerabilities", None)
    vulns = list(advisory.vulnerabilities.order_by("position", "id"))
    if not vulns and not any(pending.values()) and advisory.sources.exists():
        return  # an imported informational document: no vulnerability, and none made up
    cves = pending.pop("cve_ids", [v.cve_id for v in vulns if v.cve_id])
    shared: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, value in pending.items():
        if not vulns or _shared_now(vulns, name) is not _DIFFERS:
            shared[name] = value
        elif _comparable(value) != _comparable(getattr(advisory, name)):
            # getattr reads the stored vulnerabilities: the pending values are cleared.
            field = name.replace("score", "vector")
            if field not in errors:
                errors[field] = [
                    "Its vulnerabilities differ here; change each vulnerability's own."
                ]
    if errors:
        raise ValidationError(errors)
    if vulns and cves == [v.cve_id for v in vulns if v.cve_id]:
        # The same CVEs: each vulnerability stays as it is, in its place (those without
        # a CVE too, which the shorthand does not list), given the shared values.
        for each in vulns:
            changed = [n for n, value in shared.items() if getattr(each, n) != value]
            for name in changed:
                setattr(each, name, shared[name])
            if changed:
                each.save(update_fields=changed)
        return
    by_cve = {v.cve_id: v for v in vulns if v.cve_id}
    blank = [v for v in vulns if not v.cve_id]
    kept: list[Vulnerability] = []
    for position, cve in enumerate(cves or [""]):
        vuln = by_cve.pop(cve, None)
        if vuln is None and blank:  # the CVE given to a vulnerability that had none
            vuln = blank.pop(0)
        if vuln is None:
            template = vulns[0] if vulns else None
            vuln = Vulnerability(advisory=advisory)
            for name in ("cwe_ids", "cvss_v3_vector", "cvss_v3_score", "cvss_v4_vector",
                         "cvss_v4_score"):  # fmt: skip
                if template is not None and _shared_now(vulns, name) is not _DIFFERS:
                    setattr(vuln, name, getattr(template, name))
        vuln.cve_id, vuln.position = cve, position
        for name, value in shared.items():
            setattr(vuln, name, value)
        vuln.save()
        kept.append(vuln)
    # Vulnerabilities without a CVE are not the shorthand's to drop: they stay, after.
    for position, vuln in enumerate(blank, start=len(kept)):
        vuln.position = position
        for name, value in shared.items():
            setattr(vuln, name, value)
        vuln.save()
    Vulnerability.objects.filter(pk__in=[v.pk for v in by_cve.values()]).delete()


def store_detail(
    advisory: Advisory, detail: Detail, *, acting_user: AbstractBaseUser | None
) -> None:
    """Store a document's vulnerabilities, their product rows and its sources on a new
    advisory, as they are (``Detail``); products are found by vendor and name (or by
    package), else created and audited."""
    advisory.pending_shorthand.clear()
    for position, v in enumerate(detail.vulnerabilities):
        v_dict = snapshot_json(asdict(v))
        vuln = Vulnerability.objects.create(
            advisory=advisory,
            position=position,
            cve_id=v.cve_id,
            ids=v_dict["ids"],
            title=v.title[:500],
            cwe_ids=list(v.cwe_ids),
            cvss_v3_vector=v.cvss_v3_vector,
            cvss_v3_score=v.cvss_v3_score,
            cvss_v4_vector=v.cvss_v4_vector,
            cvss_v4_score=v.cvss_v4_score,
            scores=v_dict["scores"],
            notes=v_dict["notes"],
            references=v_dict["references"],
            discovered_at=v.discovered_at,
            released_at=v.released_at,
            third_party=v_dict["third_party"],
            extra=v_dict["extra"],
        )
        Affected.objects.bulk_create(
            Affected(
                advisory=advisory,
                vulnerability=vuln,
                product=product_for(row, acting_user=acting_user),
                deployment=row.deployment
                if row.deployment in Affected.Deployment.values
                else Affected.Deployment.OTHER,
                region=row.region[:32],
                introduced=row.introduced[:100],
                fixed=row.fixed[:100],
                last_affected=row.last_affected[:100],
                status=row.status
                if row.status in Affected.Status.values
                else Affected.Status.AFFECTED,
                position=i,
                version=row.version[:200],
                platform=row.platform[:300],
                ecosystem=row.ecosystem[:64],
                package_name=row.package_name[:200],
                repository_url=row.repository_url[:1000],
                purl=row.purl[:1000],
                cpe=row.cpe[:1000],
                ranges=row_dict["ranges"],
                versions=list(row.versions),
                default_status=row.default_status[:24],
                justification=row.justification[:64],
                impact_statement=row.impact_statement,
                remediations=row_dict["remediations"],
                extra=row_dict["extra"],
            )
            for i, (row, row_dict) in enumerate(zip(v.affected, v_dict["affected"], strict=True))
        )
    now = timezone.now()
    SourceDocument.objects.bulk_create(
        _source_row(advisory, position, source, document, now)
        for position, (source, document) in enumerate(detail.sources)
    )


def _source_row(
    advisory: Advisory,
    position: int,
    source: SourceSnapshot,
    document: dict[str, Any],
    imported_at: dt.datetime,
) -> SourceDocument:
    """A source document as stored, unsaved: the snapshot's source and the document."""
    return SourceDocument(
        advisory=advisory,
        position=position,
        kind=source.kind,
        source_id=source.id[:200],
        url=source.url[:1000],
        publisher=source.publisher[:300],
        published=source.published,
        modified=source.modified,
        withdrawn=source.withdrawn,
        revision_history=snapshot_json(list(source.revision_history)),
        schema_version=source.schema_version[:32],
        extra=snapshot_json(source.extra),
        document=document,
        imported_at=imported_at,
    )


def product_for(row: AffectedSnapshot, *, acting_user: AbstractBaseUser | None) -> Product:
    """The product a document's row names: by package (ecosystem and name), else by
    vendor and name; created (and audited) when Herald has none."""
    if row.ecosystem and row.package_name:
        found = Product.objects.filter(
            ecosystem=row.ecosystem, package_name=row.package_name
        ).first()
    else:
        found = Product.objects.filter(vendor=row.vendor[:200], name=row.product[:200]).first()
    if found is not None:
        return found
    name = row.product[:200]
    if Product.objects.filter(vendor=row.vendor[:200], name=name).exists():
        # Another package of the same name (the same name in two ecosystems).
        name = f"{row.product[:170]} ({row.ecosystem or 'other'})"
    base = (row.product_slug or slugify(f"{row.vendor} {row.product}"))[:90] or "product"
    slug, n = base, 1
    while Product.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    product = Product.objects.create(
        name=name,
        vendor=row.vendor[:200],
        slug=slug,
        ecosystem=row.ecosystem[:64],
        package_name=row.package_name[:200],
        repository_url=row.repository_url[:200],
    )
    record(
        acting_user=acting_user,
        action="product.create",
        obj=product,
        after={"name": product.name, "vendor": product.vendor, "slug": slug,
               "ecosystem": product.ecosystem, "package_name": product.package_name,
               "reason": "imported"},
    )  # fmt: skip
    return product


def _apply_fields(advisory: Advisory, cleaned: Mapping[str, Any]) -> None:
    for name, value in cleaned.items():
        setattr(advisory, name, value)


def _change(
    advisory: Advisory,
    *,
    acting_user: AbstractBaseUser | None,
    expected_version: int | None,
    incident: Incident | None,
    action: str,
    doing: str,
    done: str,
    change_summary: str,
    apply: Callable[[Advisory], None],
    rows: tuple[list[Affected] | None, list[Credit] | None, list[Reference] | None] = (
        None,
        None,
        None,
    ),
    revision_kind: str = Revision.Kind.UPDATED,
) -> Written:
    """The shared body of every change to an existing advisory."""
    who = actor_label(acting_user)
    with transaction.atomic():
        advisory = _lock(advisory, expected_version)
        if advisory.state == Advisory.State.WITHDRAWN:
            raise HeraldError(f"{advisory.identifier} is withdrawn; it no longer changes.")
        summary = _require_summary(advisory, change_summary)
        before = snapshot_of(advisory, with_history=False).to_dict()
        apply(advisory)
        errors: dict[str, list[str]] = {}
        _check_whole(advisory, errors)
        if advisory.is_public:
            _collect(errors, lambda: check_publishable(publish_values(advisory)))
        if errors:
            raise ValidationError(errors)
        advisory.incident, declared = _resolve_incident(
            advisory,
            incident,
            acting_user=acting_user,
            doing=doing,
            severity=advisory.severity,
        )
        advisory.version += 1
        advisory.updated_at = timezone.now()
        advisory.save()
        store_vulnerabilities(advisory)
        _replace_rows(advisory, *rows)
        after = snapshot_of(advisory, with_history=False).to_dict()
        if after == {**before, "updated_at": after["updated_at"], "incident": after["incident"]}:
            raise HeraldError(f"Nothing changed in {advisory.identifier}; nothing was saved.")
        revision = None
        if advisory.is_public:
            revision = _write_revision(advisory, revision_kind, summary, advisory.incident, who)
        add_event(
            advisory.incident,
            IncidentEvent.Kind.ADVISORY,
            f"Advisory {advisory.identifier} {done}"
            + (f" (revision {revision.number}): {summary}" if revision else ""),
            actor=who,
        )
        record(
            acting_user=acting_user,
            actor=who,
            action=action,
            obj=advisory,
            before=before,
            after=after,
        )
    return Written(advisory, revision=revision, declared=declared)


def write_publication(
    advisory: Advisory,
    *,
    acting_user: AbstractBaseUser | None,
    expected_version: int | None = None,
    incident: Incident | None = None,
    lift_embargo_reason: str = "",
    outreach_waiver_reason: str = "",
    published_at: dt.datetime | None = None,
) -> Written:
    """Make a draft public: its first revision. ``Written.outreach`` says that rule 4
    requires the outreach campaign, which the caller creates in this transaction."""
    who = actor_label(acting_user)
    lift_embargo_reason = check_text(lift_embargo_reason, "lift_embargo_reason", kind="text")
    outreach_waiver_reason = check_text(
        outreach_waiver_reason, "outreach_waiver_reason", kind="text"
    )
    with transaction.atomic():
        advisory = _lock(advisory, expected_version)
        if advisory.state != Advisory.State.DRAFT:
            raise HeraldError(f"{advisory.identifier} is already {advisory.state}.")
        now = timezone.now()
        check_no_blockers(
            publish_blockers(
                advisory,
                at=now,
                lift_embargo_reason=lift_embargo_reason,
                outreach_waiver_reason=outreach_waiver_reason,
            )
        )
        # Rule 4: the caller creates the campaign with the publication, unless waived.
        needs_outreach = outreach_required(advisory, waiver_reason=outreach_waiver_reason)
        before = snapshot_of(advisory, with_history=False).to_dict()
        published = published_at or now
        draft_handle = advisory.identifier
        advisory.identifier = next_identifier(VendorProfile.get().advisory_prefix, published.year)
        advisory.state = Advisory.State.PUBLISHED
        advisory.published_at = published
        advisory.scheduled_publish_at = None
        if advisory.disclosed_at is None:
            advisory.disclosed_at = published.date()
        if outreach_waiver_reason.strip():
            advisory.outreach_waiver_reason = outreach_waiver_reason.strip()
            advisory.outreach_waived_by = who
        errors: dict[str, list[str]] = {}
        _check_whole(advisory, errors)
        if errors:
            raise ValidationError(errors)
        advisory.incident, declared = _resolve_incident(
            advisory,
            incident,
            acting_user=acting_user,
            doing="publish",
            severity=advisory.severity,
        )
        advisory.version += 1
        advisory.updated_at = now
        advisory.save()
        store_vulnerabilities(advisory)
        revision = _write_revision(
            advisory, Revision.Kind.PUBLISHED, "Published.", advisory.incident, who
        )
        message = f"Advisory {advisory.identifier} published (drafted as {draft_handle})"
        if lift_embargo_reason.strip():
            message += f"; embargo lifted early: {lift_embargo_reason.strip()}"
        if advisory.outreach_waiver_reason:
            message += f"; outreach waived by {who}: {advisory.outreach_waiver_reason}"
        add_event(advisory.incident, IncidentEvent.Kind.ADVISORY, message, actor=who)
        record(
            acting_user=acting_user,
            actor=who,
            action="advisory.publish",
            obj=advisory,
            before=before,
            after={
                **snapshot_of(advisory, with_history=False).to_dict(),
                "lift_embargo_reason": lift_embargo_reason.strip(),
            },
        )
    return Written(advisory, revision=revision, declared=declared, outreach=needs_outreach)


def _set_fields(
    advisory: Advisory,
    values: dict[str, Any],
    *,
    acting_user: AbstractBaseUser | None,
    action: str,
    doing: str,
    done: str,
    change_summary: str,
    expected_version: int | None,
    incident: Incident | None,
) -> Written:
    """A status step (fix, resolve): clean the fields it sets, then the shared change."""
    cleaned, _, errors = _checked_input(
        values, None, None, None, advisory=advisory, change_summary=change_summary
    )
    if errors:
        raise ValidationError(errors)
    return _change(
        advisory,
        acting_user=acting_user,
        expected_version=expected_version,
        incident=incident,
        action=action,
        doing=doing,
        done=done,
        change_summary=change_summary,
        apply=lambda a: _apply_fields(a, cleaned),
    )


def write_fixed(
    advisory: Advisory,
    *,
    acting_user: AbstractBaseUser | None,
    fixed_at: dt.date | str,
    resolution: str | None = None,
    change_summary: str = "",
    expected_version: int | None = None,
    incident: Incident | None = None,
) -> Written:
    return _set_fields(
        advisory,
        {"status": Advisory.Status.FIXED, "fixed_at": fixed_at}
        | ({} if resolution is None else {"resolution": resolution}),
        acting_user=acting_user,
        action="advisory.fix",
        doing="mark fixed",
        done="marked fixed",
        change_summary=change_summary or "Fixed.",
        expected_version=expected_version,
        incident=incident,
    )


def write_resolved(
    advisory: Advisory,
    *,
    acting_user: AbstractBaseUser | None,
    change_summary: str = "",
    fixed_at: dt.date | str | None = None,
    expected_version: int | None = None,
    incident: Incident | None = None,
) -> Written:
    """Resolved advisories move from "Current" to "Past" on every surface."""
    return _set_fields(
        advisory,
        {"status": Advisory.Status.RESOLVED} | ({} if fixed_at is None else {"fixed_at": fixed_at}),
        acting_user=acting_user,
        action="advisory.resolve",
        doing="resolve",
        done="resolved",
        change_summary=change_summary or "Resolved.",
        expected_version=expected_version,
        incident=incident,
    )


def write_withdrawal(
    advisory: Advisory,
    *,
    acting_user: AbstractBaseUser | None,
    reason: str,
    expected_version: int | None = None,
    incident: Incident | None = None,
) -> Written:
    """Withdraw a published advisory (published in error, a duplicate, not a vulnerability).

    It stays public, marked withdrawn, so that every consumer learns of it; the
    withdrawal is a revision like any other change.
    """
    reason = check_text(reason, "reason", kind="markdown").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the advisory is withdrawn."})
    if advisory.state == Advisory.State.DRAFT:
        raise HeraldError(
            f"{advisory.identifier} was never published; a draft is simply left unpublished."
        )

    def apply(a: Advisory) -> None:
        a.state = Advisory.State.WITHDRAWN
        a.withdrawn_at = timezone.now()
        a.withdrawn_reason = reason.strip()

    return _change(
        advisory,
        acting_user=acting_user,
        expected_version=expected_version,
        incident=incident,
        action="advisory.withdraw",
        doing="withdraw",
        done="withdrawn",
        change_summary=f"Withdrawn: {reason.strip()}",
        apply=apply,
        revision_kind=Revision.Kind.WITHDRAWN,
    )


def write_schedule(
    advisory: Advisory,
    *,
    acting_user: AbstractBaseUser | None,
    at: dt.datetime | str,
    expected_version: int | None = None,
) -> Advisory:
    """Record that ``advisory`` is to be published at ``at`` (the end of the embargo).

    The caller queues the task that publishes it then; the same blockers are asked
    again when it fires.
    """
    when = _as_datetime(at, "scheduled_publish_at")
    assert when is not None
    who = actor_label(acting_user)
    with transaction.atomic():
        advisory = _lock(advisory, expected_version)
        if advisory.state != Advisory.State.DRAFT:
            raise HeraldError(f"{advisory.identifier} is already {advisory.state}.")
        if when <= timezone.now():
            raise ValidationError({"scheduled_publish_at": "Choose a moment in the future."})
        # The moment chosen is what an embargo refuses: the error names that field.
        check_no_blockers(
            [
                Blocker("scheduled_publish_at", b.message) if b.field == "embargo_until" else b
                for b in publish_blockers(advisory, at=when, unattended=True)
            ]
        )
        before = {"scheduled_publish_at": advisory.scheduled_publish_at}
        advisory.scheduled_publish_at = when
        advisory.scheduled_by = who
        advisory.version += 1
        advisory.save(update_fields=["scheduled_publish_at", "scheduled_by", "version"])
        add_event(
            advisory.incident,
            IncidentEvent.Kind.ADVISORY,
            f"Advisory {advisory.identifier} scheduled for {when:%Y-%m-%d %H:%M} UTC",
            actor=who,
        )
        record(
            acting_user=acting_user,
            actor=who,
            action="advisory.schedule",
            obj=advisory,
            before=before,
            after={"scheduled_publish_at": when},
        )
    return advisory


# ---------------------------------------------------------------- one vulnerability

VULNERABILITY_FIELDS = (
    "cve_id",
    "ids",
    "title",
    "cwe_ids",
    "cvss_v3_vector",
    "cvss_v4_vector",
    "notes",
    "references",
)
# What a product row of one vulnerability says (the editor's and the API's words).
VULNERABILITY_ROW_FIELDS = (
    "id",
    "product",
    "deployment",
    "region",
    "version",
    "introduced",
    "fixed",
    "last_affected",
    "status",
    "justification",
    "impact_statement",
    "remediations",
)
VULN_ID_ROLES = ("alias", "upstream", "related")
NOTE_CATEGORIES = (
    "description", "summary", "details", "general", "faq", "legal_disclaimer", "other",
    "workaround", "exploit", "solution", "configuration",
)  # fmt: skip


def _row_text(errors: dict[str, list[str]], where: str, name: str, value: Any, limit: int) -> str:
    text = _collect(errors, check_text, value, "affected") or ""
    text = text.strip()
    if len(text) > limit:
        errors.setdefault("affected", []).append(
            f"{where}: {name} is too long ({len(text)} characters, at most {limit})."
        )
    return text


def _clean_remediations(raw: Any, where: str, errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, (list, tuple)):
        errors.setdefault("affected", []).append(f"{where}: remediations must be a list.")
        return []
    cleaned: list[dict[str, Any]] = []
    for j, item in enumerate(raw):
        here = f"{where}, remediation {j + 1}"
        if not isinstance(item, Mapping):
            errors.setdefault("affected", []).append(f"{here}: give category and details.")
            continue
        category = str(item.get("category") or "").strip().lower()
        if category not in REMEDIATION_CATEGORIES:
            errors.setdefault("affected", []).append(
                f"{here}: category {category[:40]!r} is not one of "
                f"{', '.join(REMEDIATION_CATEGORIES)}."
            )
        details = _row_text(errors, here, "details", item.get("details"), 5000)
        url = uri(_row_text(errors, here, "url", item.get("url"), 1000))
        if url and not re.match(r"^https?://[^\s/$.?#][^\s]*$", url):
            errors.setdefault("affected", []).append(f"{here}: url {url[:80]!r} is not http(s).")
        version = _row_text(errors, here, "version", item.get("version"), 100)
        if not (details or url or version):
            errors.setdefault("affected", []).append(
                f"{here}: say what to do (details, a url or the fixed version)."
            )
        kept: dict[str, Any] = {"category": category, "details": details, "url": url,
                                "version": version}  # fmt: skip
        # What an imported remediation says beyond these, given back as it was.
        if item.get("date"):
            kept["date"] = _row_text(errors, here, "date", item.get("date"), 40)
        if isinstance(item.get("extra"), Mapping) and item["extra"]:
            kept["extra"] = dict(item["extra"])
        cleaned.append(kept)
    return cleaned


def _clean_vulnerability_rows(
    rows: Iterable[Mapping[str, Any]], own: Mapping[int, Affected], errors: dict[str, list[str]]
) -> list[Affected]:
    """One vulnerability's product rows; an ``id`` names a row it has, whose other fields
    (an imported row's package, ranges, ...) are kept."""
    regions = VendorProfile.get().regions or []
    cleaned: list[Affected] = []
    for i, row in enumerate(rows):
        where = f"Row {i + 1}"
        if not isinstance(row, Mapping):
            errors.setdefault("affected", []).append(f"{where}: not a product row.")
            continue
        for name in sorted(set(row) - set(VULNERABILITY_ROW_FIELDS)):
            errors.setdefault("affected", []).append(f"{where}: {name} is not a field of a row.")
        row_id = row.get("id")
        item: Affected
        if row_id not in (None, ""):
            found = own.get(int(row_id)) if str(row_id).isdigit() else None
            if found is None:
                errors.setdefault("affected", []).append(
                    f"{where}: id {str(row_id)[:20]!r} is not a row of this vulnerability."
                )
                continue
            item = found
        else:
            item = Affected()
        product = _product(row.get("product")) if row.get("product") else None
        if product is None and row.get("product") in (None, "") and item.pk:
            product = item.product
        if product is None:
            errors.setdefault("affected", []).append(
                f"{where}: product: unknown product {str(row.get('product'))[:80]!r}; "
                + _known_products()
            )
            continue
        item.product = product
        item.position = i
        item.deployment = str(row.get("deployment") or item.deployment or "cloud")
        if item.deployment not in Affected.Deployment.values:
            errors.setdefault("affected", []).append(
                f"{where}: deployment {item.deployment[:40]!r} is not one of "
                f"{', '.join(Affected.Deployment.values)}."
            )
        item.region = str(row.get("region") or "").strip().upper()
        if item.region and regions and item.region not in regions:
            errors.setdefault("affected", []).append(
                f"{where}: region {item.region!r} is not one of {', '.join(regions)}."
            )
        for name, limit in (("version", 200), ("introduced", 100), ("fixed", 100),
                            ("last_affected", 100)):  # fmt: skip
            setattr(item, name, _row_text(errors, where, name, row.get(name), limit))
        if item.fixed and item.last_affected:
            errors.setdefault("affected", []).append(
                f"{where}: give the fixed version or the last affected one, not both."
            )
        item.status = str(row.get("status") or Affected.Status.AFFECTED).strip().lower()
        if item.status not in Affected.Status.values:
            errors.setdefault("affected", []).append(
                f"{where}: status {item.status[:40]!r} is not one of "
                f"{', '.join(Affected.Status.values)}."
            )
        item.justification = str(row.get("justification") or "").strip().lower()
        item.impact_statement = _row_text(
            errors, where, "impact_statement", row.get("impact_statement"), 5000
        )
        if item.justification and item.justification not in VEX_JUSTIFICATIONS:
            errors.setdefault("affected", []).append(
                f"{where}: justification {item.justification[:60]!r} is not one of "
                f"{', '.join(VEX_JUSTIFICATIONS)}."
            )
        if item.status == Affected.Status.NOT_AFFECTED:
            if not (item.justification or item.impact_statement):
                errors.setdefault("affected", []).append(
                    f"{where}: justification: a product not affected needs a justification "
                    "or an impact statement (VEX requires one)."
                )
        elif item.justification or item.impact_statement:
            errors.setdefault("affected", []).append(
                f"{where}: justification: only a product not affected has a justification "
                "or an impact statement."
            )
        if item.status == Affected.Status.FIXED and not (item.fixed or item.version):
            errors.setdefault("affected", []).append(
                f"{where}: fixed: say which version fixes it (fixed, or the version)."
            )
        item.remediations = _clean_remediations(row.get("remediations"), where, errors)
        cleaned.append(item)
    return cleaned


def _clean_vulnerability(
    values: Mapping[str, Any], errors: dict[str, list[str]], stored: Vulnerability | None = None
) -> dict[str, Any]:
    """The given fields of one vulnerability, normalised; every problem to ``errors``.
    A note or reference given back as ``stored`` (the vulnerability changed) holds it is
    kept as it is: what an import wrote is not refused on a save that leaves it alone."""
    for name in sorted(set(values) - set(VULNERABILITY_FIELDS)):
        errors.setdefault(name, []).append("Not a field of a vulnerability.")
    cleaned: dict[str, Any] = {}
    if "cve_id" in values:
        found: dict[str, list[str]] = {}
        cves = _collect(found, check_cve_ids, values["cve_id"]) or []
        for messages in found.values():  # check_cve_ids names the advisory's list
            errors.setdefault("cve_id", []).extend(messages)
        if len(cves) > 1:
            errors.setdefault("cve_id", []).append(
                "One CVE per vulnerability; add another vulnerability for the next."
            )
        cleaned["cve_id"] = cves[0] if cves else ""
    if "cwe_ids" in values:
        cleaned["cwe_ids"] = _collect(errors, check_cwe_ids, values["cwe_ids"]) or []
    if "title" in values:
        title = _collect(errors, check_text, values["title"], "title") or ""
        if len(title) > 500:
            errors.setdefault("title", []).append(
                f"Too long: {len(title)} characters, at most 500."
            )
        cleaned["title"] = title.strip()
    for field in ("cvss_v3_vector", "cvss_v4_vector"):
        if field in values:
            scored = _collect(errors, check_cvss, values[field] or "", field)
            cleaned[field] = scored.vector if scored else ""
            cleaned[field.replace("vector", "score")] = scored.score if scored else None
    if "ids" in values:
        raw = values["ids"] or []
        if isinstance(raw, str):
            raw = [r for r in re.split(r"[\s,]+", raw) if r]
        ids: list[dict[str, str]] = []
        for item in raw if isinstance(raw, (list, tuple)) else [raw]:
            given = item if isinstance(item, Mapping) else {"id": item}
            vid = str(given.get("id") or "").strip()
            role = str(given.get("role") or "alias").strip().lower()
            if not vid or len(vid) > 200 or re.search(r"\s", vid):
                errors.setdefault("ids", []).append(f"{vid[:40]!r} is not an id.")
            elif role not in VULN_ID_ROLES:
                errors.setdefault("ids", []).append(
                    f"{vid}: role {role[:20]!r} is not one of {', '.join(VULN_ID_ROLES)}."
                )
            elif vid.upper().startswith("CVE-"):
                errors.setdefault("ids", []).append(
                    f"{vid}: a CVE is the vulnerability's CVE id, not another id."
                )
            else:
                ids.append({"id": vid, "role": role})
        cleaned["ids"] = ids
    if "notes" in values:
        cleaned["notes"] = _clean_notes(
            values["notes"], errors, stored.notes if stored is not None else ()
        )
    if "references" in values:
        cleaned["references"] = _clean_references(
            values["references"], errors, stored.references if stored is not None else ()
        )
    return cleaned


# A language tag (BCP 47) as CSAF and CVE take it: "en", "de-CH", "zh-Hant-TW".
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")


def _item_text(
    errors: dict[str, list[str]], section: str, where: str, name: str, value: Any,
    limit: int, kind: Kind = "line",
) -> str:  # fmt: skip
    """One text of a listed item, checked; problems as "<where>: <name>: ..." in ``section``."""
    found: dict[str, list[str]] = {}
    text = (_collect(found, check_text, value, name, kind=kind) or "").strip()
    problems = [m for messages in found.values() for m in messages]
    if len(text) > limit:
        problems.append(f"too long ({len(text)} characters, at most {limit}).")
    errors.setdefault(section, []).extend(f"{where}: {name}: {m}" for m in problems)
    if not errors[section]:
        del errors[section]
    return text


def _as_stored(item: Any, stored: Iterable[Any]) -> dict[str, Any] | None:
    """The stored item ``item`` gives back unchanged (empty values and line ends aside)."""

    def plain(value: Mapping[str, Any]) -> dict[str, Any]:
        return {
            k: v.replace("\r\n", "\n").strip() if isinstance(v, str) else v
            for k, v in value.items()
            if v not in ("", None, [], (), {})
        }

    if not isinstance(item, Mapping):
        return None
    given = plain(item)
    return next((dict(s) for s in stored if isinstance(s, Mapping) and plain(s) == given), None)


def _clean_notes(
    raw: Any, errors: dict[str, list[str]], stored: Iterable[Any] = ()
) -> list[dict[str, Any]]:
    """A vulnerability's notes: category, title, language and text each; what an
    imported note says beyond them (its audience, media) is kept as given."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, (list, tuple)):
        errors.setdefault("notes", []).append("Give a list of notes {category, text}.")
        return []
    notes: list[dict[str, Any]] = []
    for j, note in enumerate(raw):
        where = f"Note {j + 1}"
        kept_as_is = _as_stored(note, stored)
        if kept_as_is is not None:
            notes.append(kept_as_is)
            continue
        if not isinstance(note, Mapping):
            errors.setdefault("notes", []).append(f"{where}: give category and text.")
            continue
        category = str(note.get("category") or "description").strip().lower()
        if category not in NOTE_CATEGORIES:
            errors.setdefault("notes", []).append(
                f"{where}: category: {category[:30]!r} is not one of {', '.join(NOTE_CATEGORIES)}."
            )
        text = _item_text(errors, "notes", where, "text", note.get("text"), 100_000, "markdown")
        if not text:
            errors.setdefault("notes", []).append(f"{where}: text: a note needs a text.")
        title = _item_text(errors, "notes", where, "title", note.get("title"), 500)
        lang = str(note.get("lang") or "").strip()
        if lang and (len(lang) > 35 or not _LANGUAGE_TAG.match(lang)):
            errors.setdefault("notes", []).append(
                f"{where}: language: {lang[:40]!r} is not a language tag (BCP 47: en, de, "
                "pt-BR ...); blank means English."
            )
        kept: dict[str, Any] = {"category": category, "text": text}
        if title:
            kept["title"] = title
        if lang:
            kept["lang"] = lang
        if note.get("audience"):
            kept["audience"] = _item_text(
                errors, "notes", where, "audience", note.get("audience"), 500
            )
        if isinstance(note.get("media"), (list, tuple)) and note["media"]:
            kept["media"] = [dict(m) for m in note["media"] if isinstance(m, Mapping)]
        notes.append(kept)
    return notes


def _clean_references(
    raw: Any, errors: dict[str, list[str]], stored: Iterable[Any] = ()
) -> list[dict[str, Any]]:
    """A vulnerability's own links: url and type each (as the advisory's references);
    what an imported one says beyond them (a CVE reference's name and tags) is kept."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, (list, tuple)):
        errors.setdefault("references", []).append("Give a list of references {url, type}.")
        return []
    references: list[dict[str, Any]] = []
    for j, item in enumerate(raw):
        where = f"Reference {j + 1}"
        kept_as_is = _as_stored(item, stored)
        if kept_as_is is not None:
            references.append(kept_as_is)
            continue
        if not isinstance(item, Mapping):
            errors.setdefault("references", []).append(f"{where}: give url and type.")
            continue
        url = uri(_item_text(errors, "references", where, "url", item.get("url"), 1000))
        if not re.match(r"^https?://[^\s/$.?#][^\s]*$", url):
            errors.setdefault("references", []).append(
                f"{where}: url: {url[:80]!r} is not an http(s) address."
            )
        rtype = str(item.get("type") or Reference.Type.WEB).strip().upper()
        if rtype not in Reference.Type.values:
            errors.setdefault("references", []).append(
                f"{where}: type: {rtype[:30]!r} is not one of {', '.join(Reference.Type.values)}."
            )
        kept: dict[str, Any] = {"url": url, "type": rtype}
        name = _item_text(errors, "references", where, "name", item.get("name"), 500)
        if name:
            kept["name"] = name
        tags = item.get("tags")
        if isinstance(tags, (list, tuple)) and tags:
            kept["tags"] = [str(t)[:100] for t in tags]
        references.append(kept)
    return references


def _vulnerability_at(advisory: Advisory, position: int) -> Vulnerability:
    vulns = list(advisory.vulnerabilities.order_by("position", "id"))
    if not 0 <= position < len(vulns):
        raise ValidationError(
            {
                "position": f"{advisory.identifier} has {len(vulns)} "
                f"{'vulnerability' if len(vulns) == 1 else 'vulnerabilities'}; "
                f"there is no number {position + 1}."
            }
        )
    return vulns[position]


def _check_vulnerability(
    advisory: Advisory,
    position: int | None,
    cleaned: Mapping[str, Any],
    errors: dict[str, list[str]],
) -> None:
    """What a vulnerability's cleaned values must be within its advisory and beyond."""
    if position is None and not (cleaned.get("cve_id") or cleaned.get("title")):
        errors.setdefault("cve_id", []).append(
            "Give the new vulnerability its CVE id, or a title when it has none."
        )
    if position is not None:
        _collect(errors, _vulnerability_at, advisory, position)
    if cleaned.get("cve_id"):
        taken = Vulnerability.objects.filter(cve_id=cleaned["cve_id"]).exclude(
            advisory_id=advisory.pk
        )
        other = Advisory.objects.filter(pk__in=taken.values("advisory_id")).first()
        if other is not None:
            errors.setdefault("cve_id", []).append(
                f"{cleaned['cve_id']} is already the CVE of {other.identifier} "
                f"({other.title[:80]}); one advisory per CVE."
            )


def preview_vulnerability(
    advisory: Advisory,
    *,
    position: int | None,
    values: Mapping[str, Any],
    rows: Iterable[Mapping[str, Any]],
) -> tuple[Advisory, Vulnerability, list[Affected], dict[str, list[str]]]:
    """What ``write_vulnerability`` would make of this input, unsaved, and every problem
    with it by field: the write's own cleaning and checks, for the page's preview.

    Gives the advisory as it would be (its vulnerabilities hold the changed one, and its
    severity follows the headline score, as saving sets it), that vulnerability, and its
    own product rows. A bad value is left out, so a half-written one still previews;
    values that are not fields of a vulnerability are ignored. Nothing is saved.
    """
    errors: dict[str, list[str]] = {}
    preview = Advisory.objects.select_related("incident").get(pk=advisory.pk)
    vulns = list(preview.vulnerabilities.order_by("position", "id"))
    if position is None or not 0 <= position < len(vulns):
        vuln = Vulnerability(advisory=preview, position=len(vulns))
        vulns.append(vuln)
    else:
        vuln = vulns[position]
    cleaned = _clean_vulnerability(
        {k: v for k, v in values.items() if k in VULNERABILITY_FIELDS},
        errors,
        vuln if vuln.pk else None,
    )
    _check_vulnerability(advisory, position, cleaned, errors)
    own = {r.pk: r for r in vuln.affected.select_related("product")} if vuln.pk else {}
    cleaned_rows = _clean_vulnerability_rows(list(rows), own, errors)
    for name, value in cleaned.items():
        setattr(vuln, name, value)
    if cleaned.get("cve_id") and any(v.cve_id == cleaned["cve_id"] for v in vulns if v is not vuln):
        errors.setdefault("cve_id", []).append(
            f"{cleaned['cve_id']} is already a vulnerability of {advisory.identifier}."
        )
    # The advisory reads its vulnerabilities (the shorthand, the checks) from these.
    preview._prefetched_objects_cache = {"vulnerabilities": vulns}  # type: ignore[attr-defined]
    whole: dict[str, list[str]] = {}
    _check_whole(preview, whole)
    for field, messages in whole.items():
        errors.setdefault(field, []).extend(m for m in messages if m not in errors[field])
    return preview, vuln, cleaned_rows, errors


def write_vulnerability(
    advisory: Advisory,
    *,
    acting_user: AbstractBaseUser | None,
    expected_version: int | None = None,
    change_summary: str = "",
    incident: Incident | None = None,
    position: int | None = None,
    rows: Iterable[Mapping[str, Any]] | None = None,
    **values: Any,
) -> Written:
    """Add a vulnerability (``position`` None) or change the one at ``position`` (0-based):
    its ids, weaknesses, scores, notes and, when ``rows`` is given, its own product rows
    (each with its status, versions, VEX justification and remediations). Rows shared by
    every vulnerability (the one form's) stay as they are. On a public advisory this is a
    revision (rule 5)."""
    errors: dict[str, list[str]] = {}
    current = None if position is None else _collect({}, _vulnerability_at, advisory, position)
    cleaned = _clean_vulnerability(values, errors, current)
    _check_vulnerability(advisory, position, cleaned, errors)
    own: dict[int, Affected] = {}
    if position is not None and "position" not in errors:
        vuln = _vulnerability_at(advisory, position)
        own = {r.pk: r for r in vuln.affected.select_related("product")}
    cleaned_rows = None if rows is None else _clean_vulnerability_rows(list(rows), own, errors)
    if errors:
        raise ValidationError(errors)

    def apply(a: Advisory) -> None:
        vulns = list(a.vulnerabilities.order_by("position", "id"))
        if position is None:
            vuln = Vulnerability(advisory=a, position=len(vulns))
        else:
            vuln = _vulnerability_at(a, position)
        cve = cleaned.get("cve_id", vuln.cve_id)
        if cve and any(v.cve_id == cve and v.pk != vuln.pk for v in vulns):
            raise ValidationError(
                {"cve_id": f"{cve} is already a vulnerability of {a.identifier}."}
            )
        for name, value in cleaned.items():
            setattr(vuln, name, value)
        vuln.save()
        if cleaned_rows is not None:
            keep = [r.pk for r in cleaned_rows if r.pk]
            vuln.affected.exclude(pk__in=keep).delete()
            for row in cleaned_rows:
                row.advisory, row.vulnerability = a, vuln
                row.save()
        a.__dict__.get("_prefetched_objects_cache", {}).pop("vulnerabilities", None)

    label = cleaned.get("cve_id") or cleaned.get("title") or ""
    return _change(
        advisory,
        acting_user=acting_user,
        expected_version=expected_version,
        incident=incident,
        action="advisory.vulnerability",
        doing="add a vulnerability to" if position is None else "change a vulnerability of",
        done=f"given vulnerability {label}".rstrip()
        if position is None
        else f"changed in vulnerability {position + 1}",
        change_summary=change_summary,
        apply=apply,
    )


def write_vulnerability_removal(
    advisory: Advisory,
    *,
    acting_user: AbstractBaseUser | None,
    position: int,
    expected_version: int | None = None,
    change_summary: str = "",
    incident: Incident | None = None,
) -> Written:
    """Remove the vulnerability at ``position`` with its own product rows. The last one
    stays: an advisory is about at least one vulnerability."""
    vuln = _vulnerability_at(advisory, position)
    if advisory.vulnerabilities.count() < 2:
        raise ValidationError(
            {
                "position": f"{vuln} is the only vulnerability of {advisory.identifier}; "
                "an advisory keeps at least one (change it instead)."
            }
        )

    def apply(a: Advisory) -> None:
        _vulnerability_at(a, position).delete()
        for i, v in enumerate(a.vulnerabilities.order_by("position", "id")):
            if v.position != i:
                v.position = i
                v.save(update_fields=["position"])

    return _change(
        advisory,
        acting_user=acting_user,
        expected_version=expected_version,
        incident=incident,
        action="advisory.vulnerability_remove",
        doing="remove a vulnerability of",
        done=f"no longer lists vulnerability {vuln}",
        change_summary=change_summary,
        apply=apply,
    )
