"""Forms of the account pages: invitation, acceptance, tokens, collaborators, audit filter."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from herald.accounts.models import Role, Scope
from herald.advisories.models import Advisory
from herald.incidents.models import Incident


class InviteForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(
        choices=Role.choices,
        required=False,
        help_text="A staff role, or no role for a collaborator invited to one item.",
    )
    item = forms.CharField(
        required=False,
        max_length=40,
        help_text="For a collaborator: the draft's or the incident's identifier.",
    )

    def clean_item(self) -> Advisory | Incident | None:
        return item_named(self.cleaned_data.get("item", ""), self)


def item_named(name: str, form: forms.Form) -> Advisory | Incident | None:
    key = (name or "").strip().upper()
    if not key:
        return None
    advisory = Advisory.objects.filter(identifier=key).first()
    if advisory is not None:
        return advisory
    incident = Incident.objects.filter(identifier=key).first()
    if incident is not None:
        return incident
    raise forms.ValidationError(f"No advisory or incident {key!r}.")


class AcceptForm(forms.Form):
    username = forms.CharField(max_length=150)
    password1 = forms.CharField(label="Password", widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label="Password again", widget=forms.PasswordInput, strip=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        return data


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Where the token is used, e.g. 'CI publish'.")
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple)
    days = forms.IntegerField(min_value=1, max_value=366, initial=90, label="Expires after (days)")


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, required=False)


class CollaboratorForm(forms.Form):
    username = forms.CharField(max_length=150)
    item = forms.CharField(max_length=40, help_text="A draft's or an incident's identifier.")

    def clean_username(self) -> Any:
        name = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username__iexact=name).first()
        if user is None:
            raise forms.ValidationError(f"No account {name!r}; invite them instead.")
        return user

    def clean_item(self) -> Advisory | Incident:
        item = item_named(self.cleaned_data.get("item", ""), self)
        if item is None:
            raise forms.ValidationError("Name a draft or an incident.")
        return item


class AuditFilterForm(forms.Form):
    object = forms.CharField(required=False, max_length=100, help_text="NWA-2026-0001, INC-…")
    actor = forms.CharField(required=False, max_length=200)
    action = forms.CharField(required=False, max_length=100, help_text="advisory.publish, …")
