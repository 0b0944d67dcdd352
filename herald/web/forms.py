"""Forms of the staff desk. They parse what a person typed into the values actions take.

They check types only (a date is a date, a choice is one of the choices); every
rule about advisories and incidents belongs to the actions, whose errors
``herald.web.errors.attach_errors`` puts back on these fields.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.forms import BaseFormSet, formset_factory

from herald.advisories.actions import NOTE_CATEGORIES
from herald.advisories.fields import (
    ADVISORY_FIELDS,
    FIELDS,
    AdvisoryField,
    choices_of,
    column,
    fields_of_kind,
)
from herald.advisories.models import Advisory, Affected, Credit, Reference
from herald.advisories.snapshot import REMEDIATION_CATEGORIES, VEX_JUSTIFICATIONS
from herald.core.models import Product
from herald.incidents.models import Incident, Severity
from herald.incidents.queries import open_incidents

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
# Seconds are kept (step=1) so that saving a form does not silently move a time set elsewhere.
DATETIME_WIDGET = forms.DateTimeInput(
    attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S"
)


def _textarea(rows: int) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class VersionedForm(forms.Form):
    """Carries the version the person saw, so a save over someone else's is refused."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


# ---------------------------------------------------------------- incidents


class IncidentDeclareForm(forms.Form):
    title = forms.CharField(max_length=300)
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.MEDIUM)
    summary = forms.CharField(required=False, widget=_textarea(4))
    reason = forms.CharField(
        required=False, widget=_textarea(3), help_text="Why the incident is declared."
    )
    commander = forms.CharField(
        required=False, max_length=150, help_text="Username of the commander; blank: you."
    )


class IncidentNoteForm(forms.Form):
    message = forms.CharField(label="Note", widget=_textarea(3))


class IncidentResolveForm(forms.Form):
    summary = forms.CharField(label="Resolution summary", required=False, widget=_textarea(3))


# ---------------------------------------------------------------- advisories


class IncidentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.identifier}: {obj.title}"


class AdvisoryFilterForm(forms.Form):
    state = forms.ChoiceField(choices=[("", "Any state"), *Advisory.State.choices], required=False)
    status = forms.ChoiceField(
        choices=[("", "Any status"), *Advisory.Status.choices], required=False
    )


# The rows a Markdown field's box shows; the description gets the most room.
_TEXTAREA_ROWS = {"description": 6}


def advisory_form_field(field: AdvisoryField) -> forms.Field:
    """The desk form's field for one declared advisory field: types only, no rules."""
    # Required where the model column may not be blank (the title: a draft needs one).
    required = not column(field.name).blank
    common: dict[str, Any] = {"label": field.label, "help_text": field.help, "required": required}
    if field.kind in ("line", "vector"):
        return forms.CharField(**common, max_length=field.max_length)
    if field.kind == "markdown":
        # Markdown keeps its whitespace: it can be meaningful, and a round trip
        # through the form must not count as a change.
        rows = _TEXTAREA_ROWS.get(field.name, 3)
        return forms.CharField(**common, strip=False, widget=_textarea(rows))
    if field.kind == "list":
        return forms.CharField(**common)
    if field.kind == "choice":
        default = column(field.name).default
        if isinstance(default, str) and default:
            return forms.ChoiceField(
                **{**common, "required": True}, choices=choices_of(field.name), initial=default
            )
        return forms.ChoiceField(**common, choices=[("", "Not set"), *choices_of(field.name)])
    if field.kind == "date":
        return forms.DateField(**common, widget=DATE_WIDGET)
    if field.kind == "datetime":
        return forms.DateTimeField(**common, widget=DATETIME_WIDGET)
    if field.kind == "bool":  # unticked is False, not missing
        return forms.BooleanField(**{**common, "required": False})
    raise TypeError(f"No desk form field for {field.name!r} ({field.kind}).")


if TYPE_CHECKING:
    _DeclaredFieldsForm = forms.Form
else:
    # A form class whose fields are the declaration's, in its order.
    _DeclaredFieldsForm = type(
        "_DeclaredFieldsForm",
        (forms.Form,),
        {f.name: advisory_form_field(f) for f in ADVISORY_FIELDS},
    )


class AdvisoryForm(_DeclaredFieldsForm):
    """Every field of an advisory a person writes (the declaration's, in
    ``herald.advisories.fields``) and its incident; the actions clean and check them."""

    incident = IncidentChoiceField(
        queryset=Incident.objects.none(),
        required=False,
        empty_label="None: Herald declares one, if no incident is open",
        help_text="The open incident this work belongs to. Advisories change only inside one.",
    )

    ACTION_FIELDS = tuple(FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["incident"].queryset = open_incidents().order_by("-declared_at")  # type: ignore[attr-defined]

    def action_values(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in self.ACTION_FIELDS}

    @staticmethod
    def initial_for(advisory: Advisory) -> dict[str, Any]:
        initial: dict[str, Any] = {
            name: getattr(advisory, name) for name in AdvisoryForm.ACTION_FIELDS
        }
        for name in fields_of_kind("list"):
            initial[name] = ", ".join(getattr(advisory, name) or [])
        initial["version"] = advisory.version
        return initial


class AdvisoryEditForm(AdvisoryForm, VersionedForm):
    change_summary = forms.CharField(
        required=False,
        max_length=500,
        help_text="What changed, in a sentence: it goes into the public revision history.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        incident = self.fields["incident"]
        assert isinstance(incident, forms.ModelChoiceField)
        incident.empty_label = "Keep its incident (Herald declares one if that is resolved)"
        incident.help_text = "Move the advisory to another open incident."


# Rows of an advisory: a fixed number of blank rows to fill in, no script needed.


class AffectedRowForm(forms.Form):
    product = forms.ModelChoiceField(
        queryset=Product.objects.all(), required=False, help_text="From the vendor's products."
    )
    deployment = forms.ChoiceField(
        choices=Affected.Deployment.choices,
        initial=Affected.Deployment.CLOUD,
        help_text="Where it runs.",
    )
    region = forms.ChoiceField(
        choices=[("", "All")], required=False, help_text="Cloud region; All for every one."
    )
    introduced = forms.CharField(
        required=False, max_length=100, help_text="First affected version; blank: all before."
    )
    fixed = forms.CharField(required=False, max_length=100, help_text="First fixed version.")
    last_affected = forms.CharField(
        required=False, max_length=100, help_text="Only when no fixed version exists."
    )
    status = forms.ChoiceField(
        choices=Affected.Status.choices,
        initial=Affected.Status.AFFECTED,
        help_text="For this product line.",
    )

    def __init__(self, *args: Any, regions: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "All"), *((r, r) for r in regions or [])]
        region = self.fields["region"]
        assert isinstance(region, forms.ChoiceField)
        region.choices = choices

    def is_blank(self) -> bool:
        data = self.cleaned_data
        return not any(
            data.get(f) for f in ("product", "region", "introduced", "fixed", "last_affected")
        )

    def row(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("DELETE", None)
        data["product"] = data.get("product") or ""
        return data


class CreditRowForm(forms.Form):
    name = forms.CharField(required=False, max_length=200, help_text="As it is to be printed.")
    type = forms.ChoiceField(
        choices=Credit.Type.choices, initial=Credit.Type.FINDER, help_text="What they did."
    )
    contact = forms.CharField(
        required=False, max_length=300, help_text="Optional: a URL or handle, shown publicly."
    )

    def is_blank(self) -> bool:
        return not (self.cleaned_data.get("name") or self.cleaned_data.get("contact"))

    def row(self) -> dict[str, Any]:
        return {k: self.cleaned_data.get(k) for k in ("name", "type", "contact")}


class ReferenceRowForm(forms.Form):
    url = forms.CharField(
        label="URL", required=False, max_length=1000, help_text="An http(s) address."
    )
    type = forms.ChoiceField(
        choices=Reference.Type.choices,
        initial=Reference.Type.WEB,
        help_text="Fix for the pull request that fixes it.",
    )

    def is_blank(self) -> bool:
        return not self.cleaned_data.get("url")

    def row(self) -> dict[str, Any]:
        return {k: self.cleaned_data.get(k) for k in ("url", "type")}


EXTRA_ROWS = 2
AffectedFormSet = formset_factory(AffectedRowForm, extra=EXTRA_ROWS, can_delete=True)
CreditFormSet = formset_factory(CreditRowForm, extra=EXTRA_ROWS, can_delete=True)
ReferenceFormSet = formset_factory(ReferenceRowForm, extra=EXTRA_ROWS, can_delete=True)


def rows_with_errors(
    sections: tuple[str, ...],
    formsets: list[BaseFormSet],
    errors: dict[str, list[str]],
    legends: dict[str, str],
) -> list[tuple[str, str, list[str]]]:
    """(anchor, legend, messages) of each table with a problem, for the banner over the
    form; a row's field errors are summed up as "row N: field: message"."""
    found = []
    for name, formset in zip(sections, formsets, strict=True):
        problems = list(errors[name]) + [str(e) for e in formset.non_form_errors()]
        if formset.is_bound:
            for number, row in enumerate(formset.forms, start=1):
                for field, messages in row.errors.items():
                    label = row[field].label if field in row.fields else field
                    problems += [f"row {number}, {label.lower()}: {m}" for m in messages]
        if problems:
            found.append((f"{name}-rows", legends[name], problems))
    return found


class AdvisoryRows:
    """The three row formsets of an advisory, parsed together."""

    SECTIONS = ("affected", "credits", "references")
    LEGENDS = {
        "affected": "Affected products and versions",
        "credits": "Credits",
        "references": "References",
    }

    def __init__(
        self,
        data: Any = None,
        *,
        advisory: Advisory | None = None,
        regions: list[str] | None = None,
    ) -> None:
        initial: dict[str, list[dict[str, Any]]] = {name: [] for name in self.SECTIONS}
        if advisory is not None:
            initial["affected"] = [
                {
                    "product": a.product_id,
                    "deployment": a.deployment,
                    "region": a.region,
                    "introduced": a.introduced,
                    "fixed": a.fixed,
                    "last_affected": a.last_affected,
                    "status": a.status,
                }
                for a in advisory.affected.filter(vulnerability__isnull=True)
            ]
            initial["credits"] = [
                {"name": c.name, "type": c.type, "contact": c.contact}
                for c in advisory.credits.all()
            ]
            initial["references"] = [
                {"url": r.url, "type": r.type} for r in advisory.references.all()
            ]
        self.affected = AffectedFormSet(
            data,
            prefix="affected",
            initial=initial["affected"],
            form_kwargs={"regions": regions or []},
        )
        self.credits = CreditFormSet(data, prefix="credits", initial=initial["credits"])
        self.references = ReferenceFormSet(data, prefix="references", initial=initial["references"])
        # Messages the actions key by section ("affected", ...), shown above each table.
        self.errors: dict[str, list[str]] = {name: [] for name in self.SECTIONS}

    def formsets(self) -> list[BaseFormSet]:
        return [self.affected, self.credits, self.references]

    def with_errors(self) -> list[tuple[str, str, list[str]]]:
        return rows_with_errors(self.SECTIONS, self.formsets(), self.errors, self.LEGENDS)

    def is_valid(self) -> bool:
        return all([formset.is_valid() for formset in self.formsets()])

    def values(self) -> dict[str, list[dict[str, Any]]]:
        """Rows for the action: filled-in rows only, without those marked for removal."""
        result: dict[str, list[dict[str, Any]]] = {}
        for name, formset in zip(self.SECTIONS, self.formsets(), strict=True):
            result[name] = [
                form.row()
                for form in formset.forms
                if form.cleaned_data and not form.cleaned_data.get("DELETE") and not form.is_blank()
            ]
        return result


# ---------------------------------------------------------------- advisory steps


class PublishForm(VersionedForm):
    lift_embargo_reason = forms.CharField(
        label="Reason to lift the embargo early",
        required=False,
        widget=_textarea(3),
        help_text="Recorded in the incident's timeline and the audit log.",
    )
    outreach_waiver_reason = forms.CharField(
        label="Reason to waive outreach",
        required=False,
        widget=_textarea(3),
        help_text="Only if no outreach campaign to affected customers is needed; recorded "
        "with your name.",
    )

    def __init__(
        self, *args: Any, show_embargo: bool = True, show_outreach: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if not show_embargo:
            del self.fields["lift_embargo_reason"]
        if not show_outreach:
            del self.fields["outreach_waiver_reason"]


class MarkFixedForm(VersionedForm):
    fixed_at = forms.DateField(label="Fixed on", widget=DATE_WIDGET)
    resolution = forms.CharField(
        required=False,
        strip=False,
        widget=_textarea(5),
        help_text="Markdown: the fix (link the PR), next steps.",
    )
    change_summary = forms.CharField(required=False, max_length=500, initial="Fixed.")


class ResolveForm(VersionedForm):
    fixed_at = forms.DateField(
        label="Fixed on",
        required=False,
        widget=DATE_WIDGET,
        help_text="Only if the advisory has no fixed date yet.",
    )
    change_summary = forms.CharField(required=False, max_length=500, initial="Resolved.")


class GitHubLinkForm(VersionedForm):
    repository = forms.CharField(
        max_length=200,
        label="GitHub repository",
        help_text="OWNER/NAME, e.g. northwind/sdk. Its draft security advisory is created "
        "there, kept in sync and published with this advisory.",
    )


class WithdrawForm(VersionedForm):
    reason = forms.CharField(
        widget=_textarea(3), help_text="Shown on the public page and in every feed."
    )


class ScheduleForm(VersionedForm):
    scheduled_publish_at = forms.DateTimeField(label="Publish at (UTC)", widget=DATETIME_WIDGET)


# ---------------------------------------------------------------- one vulnerability


class VulnerabilityForm(VersionedForm):
    """One vulnerability of an advisory: its ids, weaknesses and scores. Its product rows
    are ``VulnerabilityRows``."""

    cve_id = forms.CharField(
        label="CVE id", required=False, max_length=32, help_text="CVE-YYYY-NNNN; one."
    )
    title = forms.CharField(
        required=False, max_length=500, help_text="Needed when it has no CVE id yet."
    )
    ids = forms.CharField(
        label="Other ids",
        required=False,
        max_length=2000,
        help_text="Aliases in other databases (GHSA-..., a vendor's id), separated by spaces.",
    )
    cwe_ids = forms.CharField(
        label="CWE ids", required=False, max_length=500, help_text="CWE-79 CWE-89 ..."
    )
    cvss_v3_vector = forms.CharField(label="CVSS v3.1 vector", required=False, max_length=200)
    cvss_v4_vector = forms.CharField(label="CVSS v4.0 vector", required=False, max_length=400)
    change_summary = forms.CharField(
        required=False,
        max_length=500,
        help_text="What changed, in a sentence: it goes into the public revision history.",
    )

    @staticmethod
    def initial_for(advisory: Advisory, vulnerability: Any = None) -> dict[str, Any]:
        initial: dict[str, Any] = {"version": advisory.version}
        if vulnerability is not None:
            initial.update(
                cve_id=vulnerability.cve_id,
                title=vulnerability.title,
                ids=" ".join(i["id"] for i in vulnerability.ids or () if i.get("role") == "alias"),
                cwe_ids=" ".join(vulnerability.cwe_ids or ()),
                cvss_v3_vector=vulnerability.cvss_v3_vector,
                cvss_v4_vector=vulnerability.cvss_v4_vector,
            )
        return initial

    def action_values(self, vulnerability: Any = None) -> dict[str, Any]:
        """The fields for the action; one that does not parse is left out (a preview of
        a half-typed form keeps the stored value there)."""
        data = self.cleaned_data
        values: dict[str, Any] = {
            name: data[name]
            for name in ("cve_id", "title", "cwe_ids", "cvss_v3_vector", "cvss_v4_vector")
            if name in data
        }
        if "ids" in data:
            kept = [i for i in (vulnerability.ids if vulnerability else None) or ()
                    if i.get("role") != "alias"]  # fmt: skip
            values["ids"] = [*({"id": i, "role": "alias"} for i in data["ids"].split()), *kept]
        return values


def _words(value: str) -> str:
    return value.replace("_", " ").capitalize()


# The declared vocabularies (``herald.advisories.snapshot``), as the form's choices.
JUSTIFICATION_CHOICES = [("", "—"), *((j, _words(j)) for j in VEX_JUSTIFICATIONS)]
REMEDIATION_CHOICES = [("", "—"), *((c, _words(c)) for c in REMEDIATION_CATEGORIES)]
# What a remediation says that the form shows; anything else it holds is given back.
REMEDIATION_FIELDS = ("category", "details", "url", "version")


class VulnerabilityRowForm(AffectedRowForm):
    """A product row of one vulnerability: the one form's row, with the version it names
    and the VEX justification of a product not affected. What to do about it is the
    remediation rows (``RemediationRowForm``), each naming its product row."""

    id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    version = forms.CharField(
        required=False, max_length=200, help_text="One version, when not a range."
    )
    justification = forms.ChoiceField(
        choices=JUSTIFICATION_CHOICES, required=False, help_text="Why not affected (VEX)."
    )
    impact_statement = forms.CharField(
        required=False, max_length=5000, widget=_textarea(2), help_text="Or say why, in words."
    )

    def is_blank(self) -> bool:
        return super().is_blank() and not any(
            self.cleaned_data.get(f) for f in ("version", "justification", "impact_statement")
        )

    def row(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("DELETE", None)
        row = {k: data.get(k) or "" for k in (
            "deployment", "region", "version", "introduced", "fixed", "last_affected",
            "status", "justification", "impact_statement",
        )}  # fmt: skip
        product = data.get("product")
        row["product"] = product.slug if product else ""
        if data.get("id"):
            row["id"] = data["id"]
        row["remediations"] = []
        return row

    @staticmethod
    def initial_of(row: Affected) -> dict[str, Any]:
        return {
            "id": row.pk,
            "product": row.product_id,
            "deployment": row.deployment,
            "region": row.region,
            "version": row.version,
            "introduced": row.introduced,
            "fixed": row.fixed,
            "last_affected": row.last_affected,
            "status": row.status,
            "justification": row.justification,
            "impact_statement": row.impact_statement,
        }


class RemediationRowForm(forms.Form):
    """One remediation of a product row: which row (by its number on the page), and what
    to do. A row may have several (a vendor fix, a workaround, a mitigation ...)."""

    # "<row id>:<index>": the stored remediation it shows, so what it says beyond the
    # form's fields (an imported one's date, CSAF's restart_required ...) is kept.
    of = forms.CharField(widget=forms.HiddenInput, required=False, max_length=40)
    product_row = forms.TypedChoiceField(
        label="Product row",
        coerce=int,
        required=False,
        help_text="The row above it is for.",
        # The editor's script offers a product row added on the page here too.
        widget=forms.Select(attrs={"data-rows-of": "affected"}),
    )
    category = forms.ChoiceField(
        choices=REMEDIATION_CHOICES, required=False, help_text="What to do."
    )
    details = forms.CharField(required=False, max_length=5000, widget=_textarea(2))
    url = forms.CharField(
        label="URL", required=False, max_length=1000, help_text="An http(s) address."
    )
    version = forms.CharField(required=False, max_length=100, help_text="The fixed version.")

    def __init__(
        self, *args: Any, product_rows: list[tuple[int, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["product_row"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "—"), *(product_rows or [])]

    def is_blank(self) -> bool:
        return not any(self.cleaned_data.get(f) for f in REMEDIATION_FIELDS)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("DELETE") and not self.is_blank():
            if not data.get("product_row"):
                self.add_error("product_row", "Say which product row it is for.")
            if not data.get("category"):
                self.add_error("category", "Choose what to do.")
        return data


NOTE_CATEGORY_CHOICES = [(c, "FAQ" if c == "faq" else _words(c)) for c in NOTE_CATEGORIES]


class NoteRowForm(forms.Form):
    """A note of one vulnerability: a text about it (CSAF's and CVE's notes)."""

    # Its place in the stored notes: what it says beyond the form (audience, media) is kept.
    of = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)
    category = forms.ChoiceField(
        choices=NOTE_CATEGORY_CHOICES, initial="description", help_text="What kind of text."
    )
    title = forms.CharField(required=False, max_length=500, help_text="Optional.")
    lang = forms.CharField(
        label="Language",
        required=False,
        max_length=35,
        help_text="A language tag: de, pt-BR; blank: English.",
    )
    text = forms.CharField(required=False, strip=False, widget=_textarea(3), help_text="Markdown.")

    def __init__(self, *args: Any, kept: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _offer(self.fields["category"], kept)

    def is_blank(self) -> bool:
        return not any(self.cleaned_data.get(f, "").strip() for f in ("title", "lang", "text"))

    def row(self) -> dict[str, Any]:
        return {k: self.cleaned_data.get(k) or "" for k in ("category", "title", "lang", "text")}


class VulnerabilityReferenceRowForm(ReferenceRowForm):
    """A link of one vulnerability; its fields are the advisory's references'."""

    # Its place in the stored references: a CVE reference's name and tags are kept.
    of = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)

    def __init__(self, *args: Any, kept: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _offer(self.fields["type"], kept)


def _offer(field: forms.Field, kept: tuple[str, ...]) -> None:
    """Offer the values a stored item holds beyond the choices (an import's), so the
    page shows them and gives them back; the action checks a changed one."""
    assert isinstance(field, forms.ChoiceField)
    choices = cast(list[tuple[str, str]], field.choices)  # a ChoiceField keeps a list
    known = {str(value) for value, _ in choices}
    field.choices = [*choices, *((k, k) for k in dict.fromkeys(kept) if k and k not in known)]


VulnerabilityRowFormSet = formset_factory(VulnerabilityRowForm, extra=EXTRA_ROWS, can_delete=True)
NoteFormSet = formset_factory(NoteRowForm, extra=EXTRA_ROWS, can_delete=True)
VulnerabilityReferenceFormSet = formset_factory(
    VulnerabilityReferenceRowForm, extra=EXTRA_ROWS, can_delete=True
)
RemediationFormSet = formset_factory(RemediationRowForm, extra=EXTRA_ROWS, can_delete=True)

# An action's message about one of the items it was given ("Row 2: ...", "Row 2,
# remediation 1: ...", "Note 3: ..."): numbered in the list the page sent, which skips
# blank and removed rows; the page says the row's own number.
_ACTION_ITEM = re.compile(r"^(?:Row|Note|Reference) (\d+)(?:, remediation (\d+))?: (.*)$", re.S)


class VulnerabilityRows:
    """The row tables of one vulnerability: its product rows and their remediations, its
    notes and its own references, with the page's row API (``formsets``,
    ``with_errors``) so the editor's helpers and tests read it alike."""

    SECTIONS = ("affected", "remediations", "notes", "references")
    LEGENDS = {
        "affected": "Products: status, versions, justification",
        "remediations": "Remediations: what to do, per product row",
        "notes": "Notes",
        "references": "References of this vulnerability",
    }

    def __init__(
        self, data: Any = None, *, vulnerability: Any = None, regions: list[str] | None = None
    ) -> None:
        stored: list[Affected] = []
        if vulnerability is not None and vulnerability.pk:
            stored = list(
                vulnerability.affected.select_related("product").order_by("position", "id")
            )
        self.affected = VulnerabilityRowFormSet(
            data,
            prefix="affected",
            initial=[VulnerabilityRowForm.initial_of(r) for r in stored],
            form_kwargs={"regions": regions or []},
        )
        # The stored remediations the page shows, by their "of" key.
        self.stored_remediations: dict[str, dict[str, Any]] = {
            f"{r.pk}:{j}": dict(item)
            for r in stored
            for j, item in enumerate(r.remediations or ())
            if isinstance(item, dict)
        }
        names = {n: r.product.name for n, r in enumerate(stored, start=1)}
        product_rows = [
            (n, f"{n}: {names[n]}" if n in names else str(n))
            for n in range(1, self.affected.total_form_count() + 1)
        ]
        initial = [
            {"of": f"{r.pk}:{j}", "product_row": n}
            | {k: str(item.get(k) or "") for k in REMEDIATION_FIELDS}
            for n, r in enumerate(stored, start=1)
            for j, item in enumerate(r.remediations or ())
            if isinstance(item, dict)
        ]
        self.remediations = RemediationFormSet(
            data,
            prefix="remediations",
            initial=initial,
            form_kwargs={"product_rows": product_rows},
        )
        self.stored_notes = list(getattr(vulnerability, "notes", None) or [])
        self.stored_references = list(getattr(vulnerability, "references", None) or [])
        self.notes = NoteFormSet(
            data,
            prefix="notes",
            initial=[
                {"of": i} | {k: str(n.get(k) or "") for k in ("category", "title", "lang", "text")}
                for i, n in enumerate(self.stored_notes)
            ],
            form_kwargs={"kept": tuple(str(n.get("category") or "") for n in self.stored_notes)},
        )
        self.references = VulnerabilityReferenceFormSet(
            data,
            prefix="references",
            initial=[
                {"of": i, "url": r.get("url", ""), "type": r.get("type", "WEB")}
                for i, r in enumerate(self.stored_references)
            ],
            form_kwargs={"kept": tuple(str(r.get("type") or "") for r in self.stored_references)},
        )
        self.errors: dict[str, list[str]] = {name: [] for name in self.SECTIONS}
        # For each item the action is given, the number of its row on the page.
        self._places: dict[str, list[int]] = {name: [] for name in self.SECTIONS}
        self._remediation_places: dict[tuple[int, int], int] = {}

    def formsets(self) -> list[BaseFormSet]:
        return [self.affected, self.remediations, self.notes, self.references]

    def with_errors(self) -> list[tuple[str, str, list[str]]]:
        return rows_with_errors(self.SECTIONS, self.formsets(), self.errors, self.LEGENDS)

    def is_valid(self) -> bool:
        valid = all([formset.is_valid() for formset in self.formsets()])
        products = self._product_forms()
        for form in self.remediations.forms:
            number = (form.cleaned_data or {}).get("product_row")
            if not number or form.cleaned_data.get("DELETE") or number in products:
                continue
            # A product row with errors of its own says so; a removed one takes its
            # remediations with it.
            if self._parses(number) and not self._removed(number):
                form.add_error(
                    "product_row", f"Row {number} has no product; choose a filled-in row."
                )
                valid = False
        return valid

    def _product_forms(self) -> dict[int, VulnerabilityRowForm]:
        """The product rows that are kept, by their number on the page."""
        return {
            n: form
            for n, form in enumerate(self.affected.forms, start=1)
            if form.is_valid() and not form.cleaned_data.get("DELETE") and not form.is_blank()
        }

    def _parses(self, number: int) -> bool:
        forms_ = self.affected.forms
        return 0 < number <= len(forms_) and forms_[number - 1].is_valid()

    def _removed(self, number: int) -> bool:
        forms_ = self.affected.forms
        return 0 < number <= len(forms_) and bool(
            getattr(forms_[number - 1], "cleaned_data", {}).get("DELETE")
        )

    def _remediations(
        self, products: dict[int, Any]
    ) -> dict[int, list[tuple[int, dict[str, Any]]]]:
        """Each kept product row's remediations (with their numbers on the page). A removed
        product row's go with it; one the page sent unchanged is given back whole."""
        found: dict[int, list[tuple[int, dict[str, Any]]]] = {}
        for n, form in enumerate(self.remediations.forms, start=1):
            data = getattr(form, "cleaned_data", None) or {}
            if not form.is_valid() or data.get("DELETE") or form.is_blank():
                continue
            if data.get("product_row") not in products:
                continue
            given = {k: data.get(k) or "" for k in REMEDIATION_FIELDS}
            before = self.stored_remediations.get(data.get("of") or "", {})
            found.setdefault(data["product_row"], []).append((n, {**before, **given}))
        return found

    def rows(self, *, preview: bool = False) -> list[dict[str, Any]]:
        """The product rows for the action, each with its remediations; with ``preview``,
        the rows that parse and name a product (a half-typed one is left out)."""
        products = self._product_forms()
        if preview:
            products = {n: f for n, f in products.items() if f.cleaned_data.get("product")}
        remediations = self._remediations(products)
        self._places["affected"] = list(products)
        self._remediation_places = {}
        rows = []
        for i, (n, form) in enumerate(products.items()):
            row = form.row()
            for j, (page, item) in enumerate(remediations.get(n, [])):
                row["remediations"].append(item)
                self._remediation_places[(i, j)] = page
            rows.append(row)
        return rows

    def _listed(self, name: str, stored: list[Any]) -> list[dict[str, Any]]:
        """The filled-in notes or references, each with what its stored one said beyond
        the form's fields."""
        formset = getattr(self, name)
        items, places = [], []
        for n, form in enumerate(formset.forms, start=1):
            if not form.is_valid() or form.cleaned_data.get("DELETE") or form.is_blank():
                continue
            of = form.cleaned_data.get("of")
            before = stored[of] if of is not None and of < len(stored) else {}
            items.append({**(before if isinstance(before, dict) else {}), **form.row()})
            places.append(n)
        self._places[name] = places
        return items

    def values(self, *, preview: bool = False) -> dict[str, list[dict[str, Any]]]:
        """The action's ``rows``, ``notes`` and ``references``."""
        return {
            "rows": self.rows(preview=preview),
            "notes": self._listed("notes", self.stored_notes),
            "references": self._listed("references", self.stored_references),
        }

    def place_errors(self) -> None:
        """Say the page's row numbers in what the action refused; a remediation's
        message goes to the remediations table."""
        for section in self.SECTIONS:
            kept: list[str] = []
            for message in self.errors[section]:
                found = _ACTION_ITEM.match(message)
                places = self._places.get(section, [])
                if found is None or int(found[1]) > len(places):
                    kept.append(message)
                    continue
                index, text = int(found[1]) - 1, found[3]
                if found[2] is not None:
                    page = self._remediation_places.get((index, int(found[2]) - 1))
                    if page is not None:
                        self.errors["remediations"].append(f"Row {page}: {text}")
                        continue
                kept.append(f"Row {places[index]}: {text}")
            self.errors[section] = kept


class VulnerabilityRemoveForm(VersionedForm):
    change_summary = forms.CharField(
        required=False,
        max_length=500,
        help_text="What changed, in a sentence: it goes into the public revision history.",
    )
