"""Forms of the public report page, the reporter's thread and the desk.

Forms only parse; the limits and rules live in the actions, whose errors the
views attach back to these fields.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS
from django.forms.utils import ErrorDict

from herald.advisories.models import Credit
from herald.intake.models import Report, Reward

FormT = TypeVar("FormT", bound=forms.Form)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; the count and size limits are the actions'."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        if isinstance(data, (list, tuple)):
            return [super(MultipleFileField, self).clean(d, initial) for d in data if d]
        return [super().clean(data, initial)] if data else []


def showing_refusal(form: FormT, message: str) -> FormT:
    """An empty form whose banner says why the last submission was refused unread."""
    form._errors = ErrorDict(  # type: ignore[attr-defined]  # Django's own error store
        {NON_FIELD_ERRORS: form.error_class([message], error_class="nonfield")}
    )
    return form


class ReportForm(forms.Form):
    email = forms.EmailField(label="Your e-mail address", max_length=254)
    title = forms.CharField(label="Title", max_length=300)
    body = forms.CharField(
        label="Description",
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text="What you found, where, and how to reproduce it. You may paste a message "
        "encrypted to our OpenPGP key.",
    )
    product_hint = forms.CharField(label="Affected product or URL", max_length=200, required=False)
    name = forms.CharField(label="Your name", max_length=200, required=False)
    handle = forms.CharField(label="Your handle", max_length=100, required=False)
    credit_as = forms.ChoiceField(
        label="Credit me as", choices=Report.CreditAs.choices, initial=Report.CreditAs.NAME
    )
    credit_type = forms.ChoiceField(
        label="My role", choices=Credit.Type.choices, initial=Credit.Type.FINDER
    )
    attachments = MultipleFileField(label="Attachments")
    # The honeypot: hidden from people by CSS and from screen readers by aria-hidden;
    # bots fill in every field they find.
    website = forms.CharField(
        required=False,
        label="Leave this empty",
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Your message", widget=forms.Textarea(attrs={"rows": 6}), required=False
    )
    attachments = MultipleFileField(label="Attachments")


class CreditForm(forms.Form):
    credit_as = forms.ChoiceField(label="Credit me as", choices=Report.CreditAs.choices)
    name = forms.CharField(label="Name", max_length=200, required=False)
    handle = forms.CharField(label="Handle", max_length=100, required=False)
    credit_type = forms.ChoiceField(label="Role", choices=Credit.Type.choices)


class StaffMessageForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}))


def staff_choices() -> list[tuple[str, str]]:
    users = get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username")
    return [("", "nobody"), *((str(u.pk), u.get_username()) for u in users)]


class AssignForm(forms.Form):
    assignee = forms.ChoiceField(choices=(), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = staff_choices()  # type: ignore[attr-defined]


class StateForm(forms.Form):
    state = forms.ChoiceField(
        choices=[
            (s, label)
            for s, label in Report.State.choices
            if s not in (Report.State.ACCEPTED, Report.State.DUPLICATE)
        ]
    )
    message = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class DuplicateForm(forms.Form):
    of = forms.CharField(label="Duplicate of (tracking id)", max_length=32)
    message = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class AssessForm(forms.Form):
    cvss_vector = forms.CharField(label="CVSS v3.1 or v4.0 vector", max_length=400, required=False)


class AcceptForm(forms.Form):
    incident = forms.CharField(
        label="Incident",
        max_length=32,
        required=False,
        help_text="Leave empty to declare a new incident.",
    )
    advisory = forms.CharField(
        label="Existing advisory",
        max_length=40,
        required=False,
        help_text="Leave empty to draft a new advisory.",
    )
    exploited_in_wild = forms.BooleanField(label="Exploited in the wild", required=False)
    message = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class ExploitedForm(forms.Form):
    exploited_in_wild = forms.BooleanField(required=False)


class RewardForm(forms.Form):
    kind = forms.ChoiceField(choices=Reward.Kind.choices)
    description = forms.CharField(max_length=300)
    amount = forms.DecimalField(max_digits=10, decimal_places=2, required=False)
    currency = forms.CharField(max_length=3, required=False)


class RewardStatusForm(forms.Form):
    status = forms.ChoiceField(choices=Reward.Status.choices)
    note = forms.CharField(max_length=500, required=False)
