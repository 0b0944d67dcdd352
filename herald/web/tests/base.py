"""What the web tests share: a client per member of the cast, and forms filled like a browser.

``form_data`` reads the form a page rendered (its fields, hidden version and
formset management fields) and returns what a browser would post back, so a test
changes only the fields a person would touch.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib.auth.models import AbstractUser, User
from django.test import Client

from herald.test import HeraldTestCase

if TYPE_CHECKING:
    # The test client's response type exists only in django-stubs.
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse


def _fill(data: dict[str, str], form: forms.Form) -> None:
    for bound in form:
        value = bound.value()
        widget = bound.field.widget
        if isinstance(widget, forms.CheckboxInput):
            if value:
                data[bound.html_name] = "on"
            continue
        formatted = widget.format_value(value)
        if isinstance(formatted, list):  # Select widgets format to a list of chosen values
            formatted = formatted[0] if formatted else ""
            if not formatted and isinstance(bound.field, forms.ChoiceField):
                # A browser sends a select's first option when none is selected.
                choices: Any = bound.field.choices
                formatted = str(next(iter(choices))[0])
        data[bound.html_name] = "" if formatted is None else str(formatted)


def form_data(response: TestResponse, **changes: Any) -> dict[str, str]:
    """The POST a browser would send from ``response``'s form, with ``changes`` typed in."""
    assert response.context is not None, "the page rendered no template"
    data: dict[str, str] = {}
    _fill(data, response.context["form"])
    rows = response.context.get("rows")
    if rows is not None:
        for formset in rows.formsets():
            _fill(data, formset.management_form)
            for form in formset.forms:
                _fill(data, form)
    for name, value in changes.items():
        if value is True:
            data[name] = "on"
        elif value is False or value is None:
            data.pop(name, None)
        else:
            data[name] = str(value)
    return data


def section(html: str, section_id: str) -> str:
    """The markup of ``<section id=section_id>`` on a page."""
    match = re.search(rf'<section id="{section_id}".*?</section>', html, re.S)
    assert match, f"no section {section_id!r} on the page"
    return match.group(0)


class WebTestCase(HeraldTestCase):
    def client_for(self, user: AbstractUser) -> Client:
        client = Client()
        client.force_login(cast(User, user))
        return client

    def setUp(self) -> None:
        super().setUp()
        self.client.force_login(cast(User, self.bob))

    def public_html(self, path: str = "/security/advisories/") -> str:
        response = Client().get(path)
        assert response.status_code == 200
        return response.content.decode()
