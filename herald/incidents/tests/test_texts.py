"""An incident's texts pass the text gatekeeper: desk form, CLI and action alike."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from herald.core.errors import ValidationError
from herald.incidents.actions import (
    do_add_incident_note,
    do_resolve_incident,
    do_update_incident,
)
from herald.incidents.models import Incident, IncidentEvent
from herald.publication.actions import do_declare_incident
from herald.web.tests.base import WebTestCase

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE


class IncidentTextTests(WebTestCase):
    def test_a_bidi_override_in_the_title_is_refused_in_the_desk_form(self) -> None:
        response = self.client.post(
            "/desk/incidents/new/", {"title": f"Leak in {RLO}gnp.exe", "severity": "high"}
        )
        assert response.status_code == 400
        errors = response.context["form"].errors
        assert "U+202E" in errors["title"][0]
        assert not Incident.objects.exists()

    def test_a_bidi_override_in_the_title_is_refused_by_the_cli_naming_the_flag(self) -> None:
        err = StringIO()
        with pytest.raises(CommandError):
            call_command(
                "incident", "declare", "--title", f"Leak {RLO}x", stdout=StringIO(), stderr=err
            )
        assert err.getvalue().startswith("error: --title: Contains U+202E")
        assert not Incident.objects.exists()

    def test_summary_and_reason_are_checked_and_named_together(self) -> None:
        with pytest.raises(ValidationError) as caught:
            do_declare_incident(
                title="Leak",
                summary="tokens\x1b[2J",
                reason=f"seen {RLO}here",
                acting_user=self.bob,
            )
        assert sorted(caught.value.message_dict) == ["reason", "summary"]
        assert not Incident.objects.exists()

    def test_a_note_with_a_control_character_is_refused_in_the_desk_form(self) -> None:
        incident = self.declare("Leak")
        response = self.client.post(
            f"/desk/incidents/{incident.identifier}/note/", {"message": "ok\x07bell"}
        )
        assert response.status_code == 400
        assert "U+0007" in response.context["note_form"].errors["message"][0]
        assert not incident.events.filter(kind=IncidentEvent.Kind.NOTE).exists()

    def test_a_resolution_summary_and_an_update_are_checked(self) -> None:
        incident = self.declare("Leak")
        with pytest.raises(ValidationError) as caught:
            do_resolve_incident(incident, summary=f"done {RLO}", acting_user=self.bob)
        assert list(caught.value.message_dict) == ["summary"]
        with pytest.raises(ValidationError) as caught:
            do_update_incident(incident, title=f"x{RLO}", acting_user=self.bob)
        assert list(caught.value.message_dict) == ["title"]
        with pytest.raises(ValidationError) as caught:
            do_update_incident(incident, summary="a\x00b", acting_user=self.bob)
        assert list(caught.value.message_dict) == ["summary"]
        incident.refresh_from_db()
        assert incident.is_open and incident.title == "Leak"

    def test_plain_text_is_kept_as_typed(self) -> None:
        incident = do_declare_incident(
            title="  Leak   in   logs ",
            summary="line one\r\n\tline two — שלום",
            acting_user=self.bob,
        )
        assert incident.title == "Leak in logs"
        assert incident.summary == "line one\n\tline two — שלום"
        note = do_add_incident_note(incident, "  checked\n", acting_user=self.bob)
        assert note.message == "checked"
