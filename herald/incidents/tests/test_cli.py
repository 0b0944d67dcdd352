"""``herald incident``: declare, list, show, resolve, and how errors come out."""

from __future__ import annotations

import argparse
import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from herald.audit.actions import service_account
from herald.audit.models import AuditEvent
from herald.incidents.models import Incident
from herald.publication.management.commands.incident import Command
from herald.test import HeraldTestCase


class IncidentCommandTestCase(HeraldTestCase):
    def run_cli(self, *args: str) -> str:
        out, err = StringIO(), StringIO()
        call_command("incident", *args, stdout=out, stderr=err)
        assert err.getvalue() == ""
        return out.getvalue()

    def run_json(self, *args: str) -> Any:
        return json.loads(self.run_cli(*args, "--json"))

    def run_failing(self, *args: str) -> tuple[int, str]:
        err = StringIO()
        with pytest.raises(CommandError) as caught:
            call_command("incident", *args, stdout=StringIO(), stderr=err)
        return caught.value.returncode, err.getvalue()


class DeclareTests(IncidentCommandTestCase):
    def test_it_declares_an_incident_recorded_for_the_as_account(self) -> None:
        data = self.run_json(
            "declare", "--title", "Token leak", "--severity", "critical",
            "--summary", "Tokens in logs", "--reason", "Log review", "--as", "alice",
        )  # fmt: skip
        incident = Incident.objects.get(identifier=data["identifier"])
        assert incident.severity == "critical"
        assert incident.declared_by == "alice"
        assert incident.commander == self.alice
        assert data["commander"] == "alice"
        assert data["events"][0]["kind"] == "declared"
        event = AuditEvent.objects.get(action="incident.declare")
        assert (event.actor, event.actor_user_id) == ("alice", self.alice.pk)

    def test_without_as_the_declaration_is_recorded_for_the_service_account(self) -> None:
        out = self.run_cli("declare", "--title", "Token leak")
        incident = Incident.objects.get()
        assert out.strip() == f"{incident.identifier} declared (medium): Token leak"
        assert incident.declared_by == "herald-service"
        assert incident.commander is None  # the service account commands nothing

    def test_without_as_every_write_is_audited_for_the_service_account(self) -> None:
        data = self.run_json("declare", "--title", "Token leak")
        self.run_cli("resolve", data["identifier"])
        service = service_account()
        events = AuditEvent.objects.values_list("action", "actor", "actor_user_id")
        assert {action: (actor, uid) for action, actor, uid in events} == {
            "incident.declare": ("herald-service", service.pk),
            "incident.resolve": ("herald-service", service.pk),
        }
        # It is a real account that cannot sign in on the web.
        assert not service.has_usable_password() and not getattr(service, "is_staff", True)
        assert not self.client.login(username="herald-service", password="")

    def test_as_names_a_real_account_the_service_account_is_not_one_to_name(self) -> None:
        code, err = self.run_failing("declare", "--title", "T", "--as", "nobody")
        assert (code, err) == (2, "error: --as: No active account named 'nobody'.\n")
        service_account()  # it exists, and still is no desk account to name
        code, err = self.run_failing("declare", "--title", "T", "--as", "herald-service")
        assert code == 2 and err.startswith("error: --as: herald-service has no desk access")
        assert not Incident.objects.exists()

    def test_it_names_a_commander_by_username(self) -> None:
        data = self.run_json("declare", "--title", "Token leak", "--commander", "bob")
        assert data["commander"] == "bob"

    def test_a_missing_title_names_the_field_exits_2_and_declares_nothing(self) -> None:
        code, err = self.run_failing("declare", "--severity", "high")
        assert code == 2
        assert err == "error: --title: An incident needs a title.\n"
        assert not Incident.objects.exists()

    def test_an_unknown_severity_names_the_field(self) -> None:
        code, err = self.run_failing("declare", "--title", "T", "--severity", "urgent")
        assert code == 2
        assert "error: --severity: Unknown severity 'urgent'" in err

    def test_an_unknown_commander_names_the_field(self) -> None:
        code, err = self.run_failing("declare", "--title", "T", "--commander", "mallory")
        assert code == 2
        assert err == "error: --commander: No account named 'mallory'.\n"
        assert not Incident.objects.exists()

    def test_every_bad_value_is_named_at_once_by_its_flag(self) -> None:
        code, err = self.run_failing(
            "declare", "--severity", "urgent", "--commander", "mallory", "--as", "nobody"
        )
        assert code == 2
        assert sorted(line.split(": ")[1] for line in err.splitlines()) == [
            "--as", "--commander", "--severity", "--title",
        ], err  # fmt: skip
        assert not Incident.objects.exists()

    def test_as_must_name_an_active_desk_account(self) -> None:
        for username in ("charlie", "nobody"):
            code, err = self.run_failing("declare", "--title", "T", "--as", username)
            assert code == 2
            assert err.startswith("error: --as: "), err
        assert not Incident.objects.exists()

    def test_as_may_also_come_before_the_subcommand(self) -> None:
        call_command("incident", "--as", "bob", "declare", "--title", "T", stdout=StringIO())
        assert Incident.objects.get().declared_by == "bob"


class ListShowResolveTests(IncidentCommandTestCase):
    def test_list_shows_open_incidents_unless_all(self) -> None:
        open_one = self.declare("Open one")
        closed = self.declare("Closed one")
        self.run_cli("resolve", closed.identifier)
        assert [i["identifier"] for i in self.run_json("list")] == [open_one.identifier]
        everything = [i["identifier"] for i in self.run_json("list", "--all")]
        assert sorted(everything) == sorted([open_one.identifier, closed.identifier])
        text = self.run_cli("list")
        assert open_one.identifier in text
        assert closed.identifier not in text

    def test_list_says_when_nothing_is_open(self) -> None:
        assert self.run_cli("list").strip() == "No open incidents."

    def test_list_says_how_many_resolved_incidents_it_hides_and_how_to_see_them(self) -> None:
        open_one = self.declare("Open one")
        for title in ("Closed one", "Closed two"):
            self.run_cli("resolve", self.declare(title).identifier)
        lines = self.run_cli("list").splitlines()
        assert lines[0].startswith(open_one.identifier)
        assert lines[-1] == "2 resolved incident(s) not shown: herald incident list --all"
        assert "not shown" not in self.run_cli("list", "--all")
        self.run_cli("resolve", open_one.identifier)
        assert self.run_cli("list").splitlines() == [
            "No open incidents.",
            "3 resolved incident(s) not shown: herald incident list --all",
        ]

    def test_show_gives_the_timeline_and_the_advisories(self) -> None:
        incident = self.declare("Dashboard XSS", reason="Report #12")
        advisory = self.draft(incident)
        data = self.run_json("show", incident.identifier.lower())
        assert data["identifier"] == incident.identifier
        assert [e["kind"] for e in data["events"]] == ["declared", "advisory"]
        assert data["advisories"][0]["identifier"] == advisory.identifier
        text = self.run_cli("show", incident.identifier)
        assert "Timeline:" in text
        assert "Declared by bob: Report #12" in text
        assert f"{advisory.identifier} (draft)" in text

    def test_show_of_an_unknown_incident_exits_1(self) -> None:
        code, err = self.run_failing("show", "INC-1999-0001")
        assert (code, err) == (1, "error: No incident 'INC-1999-0001'.\n")

    def test_resolve_closes_the_incident_once(self) -> None:
        incident = self.declare()
        data = self.run_json("resolve", incident.identifier, "--summary", "Fixed", "--as", "bob")
        assert (data["status"], data["resolution_summary"]) == ("resolved", "Fixed")
        assert data["resolved_by"] == "bob"
        code, err = self.run_failing("resolve", incident.identifier)
        assert code == 1
        assert "already resolved" in err


class HelpTests(HeraldTestCase):
    def test_help_lists_every_subcommand_with_examples(self) -> None:
        parser = Command().create_parser("herald", "incident")
        text = parser.format_help()
        for name in ("declare", "list", "show", "resolve", "--as USERNAME", "examples:"):
            assert name in text
        subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        for name, sub in subparsers.choices.items():
            assert "example" in sub.format_help(), name
