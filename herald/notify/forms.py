"""Forms of the notify pages: subscribing, a channel's settings, a channel as subscriber.

The pages are in ``herald/web/views/notify.py``; the forms parse and name the field
at fault, the actions in ``herald/notify/actions.py`` validate and write.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms

from herald.core.errors import ValidationError
from herald.core.models import Product
from herald.incidents.models import Severity
from herald.notify import queries
from herald.notify.channels import SMTPConfig
from herald.notify.models import SERVICE_KINDS, Channel, Event


class SubscribeForm(forms.Form):
    email = forms.EmailField(max_length=254)
    products = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, help_text="None ticked: all."
    )
    min_severity = forms.ChoiceField(
        required=False,
        choices=[("", "Any severity"), *Severity.choices],
        label="Only advisories of at least",
    )

    def __init__(self, *args: Any, with_email: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        products = self.fields["products"]
        assert isinstance(products, forms.MultipleChoiceField)
        products.choices = [(p.slug, p.name) for p in Product.objects.all()]
        if not with_email:
            del self.fields["email"]


class ChannelForm(forms.Form):
    """One form for the three kinds: works without JavaScript, each field says its kind."""

    name = forms.CharField(
        max_length=100, help_text="Letters, digits, - and _, for example security-team."
    )
    kind = forms.ChoiceField(
        choices=[(k.value, k.label) for k in Channel.Kind if k not in SERVICE_KINDS],
        widget=forms.RadioSelect,
    )
    to = forms.CharField(
        required=False,
        label="E-mail addresses",
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="E-mail: who is told, separated by commas or spaces.",
    )
    smtp_url = forms.CharField(
        required=False,
        max_length=500,
        label="SMTP server",
        help_text="E-mail, optional: smtp://user:password@host:587?starttls=1 or smtps://…; "
        "empty: Herald's own. The password is not shown again.",
    )
    url = forms.CharField(
        required=False,
        max_length=500,
        label="URL",
        help_text="Slack: the incoming-webhook URL. Webhook: where Herald POSTs each message "
        "as JSON. Only its host is shown again.",
    )
    secret = forms.CharField(
        required=False,
        max_length=200,
        label="Signing secret",
        # Never echoed back, not even after a mistake elsewhere; no browser autofill.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Webhook, optional: at least 16 characters; each request is signed with it "
        "(HMAC-SHA256, header Herald-Signature). It is not shown again.",
    )
    events = forms.MultipleChoiceField(
        required=False,
        choices=Event.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="What an internal channel is told of. None ticked: all.",
    )
    internal = forms.BooleanField(
        required=False,
        label="Internal channel",
        help_text="Tell it of incidents and advisories as they happen. Leave unticked for a "
        "channel that serves a subscriber (added on the Subscribers page).",
    )

    FIELDS_OF = {
        Channel.Kind.EMAIL: ("to", "smtp_url"),
        Channel.Kind.SLACK: ("url",),
        Channel.Kind.WEBHOOK: ("url", "secret"),
    }

    # The kinds' parsers let a ValueError through for a port or a timeout that is not
    # a number, or a broken IPv6 host: asked here first, the form names the field
    # instead of failing with a server error.
    def clean_url(self) -> str:
        value: str = self.cleaned_data["url"]
        try:
            _ = urlsplit(value).port
        except ValueError:
            raise forms.ValidationError("Not a URL: check its host and port.") from None
        return value

    def clean_smtp_url(self) -> str:
        value: str = self.cleaned_data["smtp_url"]
        try:
            if value:
                SMTPConfig.from_url(value)
        except ValidationError as exc:
            raise forms.ValidationError(" ".join(exc.messages)) from None
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if kind not in self.FIELDS_OF:
            return data
        # A field of another kind left filled in would be dropped without a word.
        for name in ("to", "smtp_url", "url", "secret"):
            if data.get(name) and name not in self.FIELDS_OF[kind]:
                label = self.fields[name].label
                self.add_error(name, f"{label} is not used by {Channel.Kind(kind).label} channels.")
        if kind == Channel.Kind.EMAIL and not data.get("to"):
            self.add_error("to", "An e-mail channel needs at least one address.")
        if kind != Channel.Kind.EMAIL and not data.get("url"):
            self.add_error("url", f"A {Channel.Kind(kind).label} channel needs its URL.")
        return data

    def config(self) -> dict[str, Any]:
        """The channel's config as its kind's plug-in reads it (and validates it)."""
        data = self.cleaned_data
        if data["kind"] == Channel.Kind.EMAIL:
            config: dict[str, Any] = {"to": data["to"].replace(",", " ").split()}
            if data["smtp_url"]:
                config["smtp_url"] = data["smtp_url"]
            return config
        config = {"url": data["url"]}
        if data["kind"] == Channel.Kind.WEBHOOK and data["secret"]:
            config["secret"] = data["secret"]
        return config


class ChannelSubscriberForm(forms.Form):
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.none(),
        empty_label=None,
        help_text="Slack and webhook channels that are enabled, not internal and not "
        "subscribed yet. An admin adds channels on the Channels page.",
    )
    products = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, help_text="None ticked: all."
    )
    min_severity = forms.ChoiceField(
        required=False,
        choices=[("", "Any severity"), *Severity.choices],
        label="Only advisories of at least",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        channel = self.fields["channel"]
        assert isinstance(channel, forms.ModelChoiceField)
        channel.queryset = queries.subscribable_channels()
        products = self.fields["products"]
        assert isinstance(products, forms.MultipleChoiceField)
        products.choices = [(p.slug, p.name) for p in Product.objects.all()]
