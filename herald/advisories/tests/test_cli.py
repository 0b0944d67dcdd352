"""``herald advisory``: the lifecycle from a terminal, and bad input refused by field."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from herald.advisories.actions import EDITABLE_FIELDS
from herald.advisories.models import Advisory
from herald.audit.models import AuditEvent
from herald.core.cli_support import option_names
from herald.core.models import Product
from herald.incidents.models import Incident
from herald.publication.actions import do_update_vendor_profile
from herald.publication.management.commands.advisory import Command
from herald.test import HeraldTestCase, HeraldTransactionTestCase

CVSS_V3 = "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N"  # 5.4, medium
CVSS_V4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"  # 9.3, critical


class AdvisoryCommandTestCase(HeraldTestCase):
    def run_cli(self, *args: str, stdin: str | None = None, command: str = "advisory") -> str:
        out, err = StringIO(), StringIO()
        extra: dict[str, Any] = {} if stdin is None else {"stdin": StringIO(stdin)}
        call_command(command, *args, stdout=out, stderr=err, **extra)
        assert err.getvalue() == ""
        return out.getvalue()

    def run_json(self, *args: str, stdin: str | None = None, command: str = "advisory") -> Any:
        return json.loads(self.run_cli(*args, "--json", stdin=stdin, command=command))

    def run_failing(self, *args: str) -> tuple[int, str]:
        err = StringIO()
        with pytest.raises(CommandError) as caught:
            call_command("advisory", *args, stdout=StringIO(), stderr=err)
        return caught.value.returncode, err.getvalue()

    def state(self) -> tuple[Any, ...]:
        """What a refused command must leave as it was."""
        return (
            list(Advisory.objects.order_by("id").values_list("identifier", "version", "state",
                                                              "status", "title")),
            AuditEvent.objects.count(),
            Incident.objects.count(),
        )  # fmt: skip

    def assert_refused(self, args: tuple[str, ...], code: int, *lines: str) -> str:
        before = self.state()
        returncode, err = self.run_failing(*args)
        assert returncode == code, err
        for line in lines:
            assert line in err.splitlines(), err
        assert all(line.startswith("error: ") for line in err.splitlines()), err
        assert self.state() == before, "a refused command changed something"
        return err


class LifecycleTests(AdvisoryCommandTestCase):
    def test_an_advisory_goes_from_declaration_to_withdrawal_through_the_cli(self) -> None:
        incident = self.run_json(
            "declare", "--title", "Dashboard XSS", "--severity", "high", "--as", "bob",
            command="incident",
        )  # fmt: skip
        created = self.run_json(
            "create", "--incident", incident["identifier"],
            "--title", "Stored XSS in dashboard names",
            "--description", "A dashboard name could carry a script.",
            "--severity", "medium", "--affected-users", "Cloud customers in the US region.",
            "--discovered", "2026-01-10", "--reported", "2026-01-11",
            "--cve", "cve-2026-12345", "--cwe", "79", "--product", "cloud:cloud:1.0:1.4",
            "--credit", "Jane Doe:finder",
            "--reference", "https://github.com/example/app/pull/1 fix",
            "--as", "bob",
        )  # fmt: skip
        ident = created["identifier"]
        assert (created["state"], created["version"]) == ("draft", 1)
        assert created["incident"] == incident["identifier"]
        assert created["cve_ids"] == ["CVE-2026-12345"]
        assert created["cwe_ids"] == ["CWE-79"]
        assert created["affected_regions"] == ["US"]
        assert created["affected"][0]["version_range"] == ">= 1.0, < 1.4"
        assert created["credits"] == [{"name": "Jane Doe", "type": "FINDER", "contact": ""}]
        assert created["references"][0]["type"] == "FIX"

        published = self.run_json("publish", ident, "--version", "1", "--as", "alice")
        ident = published["identifier"]  # publication gives the public number
        assert (published["state"], published["current"]) == ("published", True)
        assert [r["kind"] for r in published["revisions"]] == ["published"]

        fixed = self.run_json(
            "fix", ident, "--date", "2026-01-12", "--resolution", "Fixed in #1.", "--as", "bob"
        )
        assert (fixed["status"], fixed["fixed_at"]) == ("fixed", "2026-01-12")
        assert fixed["resolution"] == "Fixed in #1."

        resolved = self.run_json("resolve", ident, "--summary", "All customers migrated")
        assert (resolved["status"], resolved["current"]) == ("resolved", False)
        assert resolved["revisions"][-1]["summary"] == "All customers migrated"

        withdrawn = self.run_json("withdraw", ident, "--reason", "Not a vulnerability after all")
        assert withdrawn["state"] == "withdrawn"
        assert withdrawn["withdrawn_reason"] == "Not a vulnerability after all"
        assert [r["kind"] for r in withdrawn["revisions"]] == [
            "published",
            "updated",
            "updated",
            "withdrawn",
        ]
        assert [a["identifier"] for a in self.run_json("list", "--state", "withdrawn")] == [ident]
        advisory_pk = str(Advisory.objects.get(identifier=ident).pk)
        actors = dict(
            AuditEvent.objects.filter(
                object_type="advisories.advisory", object_pk=advisory_pk
            ).values_list("action", "actor")
        )
        assert actors == {
            "advisory.create": "bob",
            "advisory.publish": "alice",
            "advisory.fix": "bob",
            "advisory.resolve": "herald-service",
            "advisory.withdraw": "herald-service",
        }
        # Every one is an account, the service account included: no free strings.
        events = AuditEvent.objects.filter(object_type="advisories.advisory", object_pk=advisory_pk)
        for event in events.select_related("actor_user"):
            assert event.actor_user is not None and event.actor_user.username == event.actor

    def test_writes_print_the_identifier_and_what_happened(self) -> None:
        incident = self.declare()
        out = self.run_cli(
            "create", "--incident", incident.identifier, "--title", "Token leak", "--as", "bob"
        )
        advisory = Advisory.objects.get()
        assert (
            out
            == f"{advisory.identifier} created as a draft in {incident.identifier}: Token leak\n"
        )
        out = self.run_cli("update", advisory.identifier, "--version", "1", "--severity", "high")
        assert out == f"{advisory.identifier} updated (version 2)\n"

    def test_create_reads_every_field_option_and_text_files(self) -> None:
        Product.objects.create(name="Northwind SDK", slug="sdk")
        incident = self.declare()
        with tempfile.TemporaryDirectory() as tmp:
            description = Path(tmp, "description.md")
            description.write_text("# Impact\n\nTokens were *logged*.\n")
            data = self.run_json(
                "create", "--incident", incident.identifier, "--title", "Token leak",
                "--summary", "API tokens were written to request logs",
                "--description-file", str(description), "--resolution-file", "-",
                "--cvss-v3", CVSS_V3, "--cvss-v4", CVSS_V4, "--status", "fixed",
                "--fixed", "2026-01-12", "--reported", "2026-01-11",
                "--affected-users", "Everyone", "--region", "US", "--region", "EU",
                "--product", "cloud:cloud", "--product", "sdk:sdk:2.0:2.3",
                "--credit", "Team: Red", "--credit", "Jane:REPORTER",
                "--reference", "https://example.com/blog",
                "--confirmed-exposure", "--user-action-required",
                "--embargo-until", "2030-01-01T09:00",
                stdin="Rotate your tokens.\n",
            )  # fmt: skip
        assert data["summary"] == "API tokens were written to request logs"
        # The files' final newlines are not kept: no page can show them.
        assert data["description"] == "# Impact\n\nTokens were *logged*."
        assert data["resolution"] == "Rotate your tokens."
        # The v4 vector decides the severity when both are given.
        assert (data["cvss_v3_score"], data["cvss_v4_score"]) == (5.4, 9.3)
        assert data["severity"] == "critical"
        assert data["affected_regions"] == ["US", "EU"]
        assert [(a["product"], a["deployment"], a["version_range"]) for a in data["affected"]] == [
            ("cloud", "cloud", "all versions"),
            ("sdk", "sdk", ">= 2.0, < 2.3"),
        ]
        assert [(c["name"], c["type"]) for c in data["credits"]] == [
            ("Team: Red", "FINDER"),
            ("Jane", "REPORTER"),
        ]
        assert data["references"] == [{"url": "https://example.com/blog", "type": "WEB"}]
        assert data["confirmed_exposure"] and data["user_action_required"]
        assert data["embargo_until"] == "2030-01-01T09:00:00Z"

    def test_show_json_edited_and_fed_back_updates_only_what_was_edited(self) -> None:
        advisory = self.published()
        original = self.run_json("show", advisory.identifier)
        data = {**original, "title": "Stored XSS in dashboard and insight names"}
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp, "advisory.json")
            path.write_text(json.dumps(data))
            # The version comes from the file: the one that was read.
            out = self.run_cli(
                "update", advisory.identifier, "--from-json", str(path),
                "--summary", "Insights were affected too",
            )  # fmt: skip
            assert "revision 2: Insights were affected too" in out
            after = self.run_json("show", advisory.identifier)
            changed = {k: v for k, v in after.items() if original[k] != v}
            assert changed == {
                "title": data["title"],
                "version": data["version"] + 1,
                "updated_at": after["updated_at"],
                "revisions": after["revisions"],
            }
            # Feeding the same file again is editing a stale copy.
            err = self.assert_refused(
                ("update", advisory.identifier, "--from-json", str(path), "--summary", "Again"), 1
            )
            assert "was changed by someone else" in err

    def test_show_json_fed_to_create_copies_the_advisory(self) -> None:
        # Without a CVE id: a copy may not claim its original's (one advisory per CVE).
        original = self.draft(cwe_ids=["CWE-79"], affected=[{"product": "cloud", "fixed": "1.4"}],
                              credits=[{"name": "Jane", "type": "FINDER"}], cve_ids=[])  # fmt: skip
        shown = self.run_cli("show", original.identifier, "--json")
        copy = self.run_json("create", "--from-json", "-", "--title", "Copy", stdin=shown)
        assert copy["identifier"] != original.identifier
        ignored = {"identifier", "title", "version", "updated_at"}
        source = json.loads(shown)
        assert {k: v for k, v in copy.items() if k not in ignored} == {
            k: v for k, v in source.items() if k not in ignored
        }

    def test_publish_at_schedules_the_publication_instead(self) -> None:
        advisory = self.draft()
        out = self.run_cli("publish", advisory.identifier, "--at", "2030-01-01T09:00Z")
        assert out == f"{advisory.identifier} scheduled for publication at 2030-01-01 09:00 UTC\n"
        advisory.refresh_from_db()
        assert advisory.state == "draft"
        assert advisory.scheduled_publish_at == dt.datetime(2030, 1, 1, 9, tzinfo=dt.UTC)

    def test_publish_with_a_waiver_records_it(self) -> None:
        advisory = self.draft(confirmed_exposure=True)
        self.run_cli("publish", advisory.identifier, "--waive-outreach", "Test accounts only",
                     "--as", "alice")  # fmt: skip
        advisory.refresh_from_db()
        assert advisory.state == "published"
        assert (advisory.outreach_waiver_reason, advisory.outreach_waived_by) == (
            "Test accounts only",
            "alice",
        )

    def test_publish_lifts_an_embargo_only_with_a_reason(self) -> None:
        advisory = self.draft(embargo_until=timezone.now() + dt.timedelta(days=3))
        self.assert_refused(("publish", advisory.identifier), 2)
        self.run_cli("publish", advisory.identifier, "--lift-embargo", "Exploited in the wild")
        advisory.refresh_from_db()
        assert advisory.state == "published"

    def test_update_can_turn_a_flag_off_again(self) -> None:
        advisory = self.draft(user_action_required=True)
        self.run_cli("update", advisory.identifier, "--version", "1", "--no-user-action-required")
        advisory.refresh_from_db()
        assert not advisory.user_action_required

    def test_an_empty_cve_option_empties_the_list(self) -> None:
        advisory = self.draft()
        self.run_cli("update", advisory.identifier, "--version", "1", "--cve", "")
        advisory.refresh_from_db()
        assert advisory.cve_ids == []


class BadInputTests(AdvisoryCommandTestCase):
    def setUp(self) -> None:
        self.incident = self.declare()

    def create(self, *args: str) -> tuple[str, ...]:
        return ("create", "--incident", self.incident.identifier, "--title", "T", *args)

    def test_a_malformed_cve_is_named_and_nothing_is_saved(self) -> None:
        self.assert_refused(
            self.create("--cve", "CVE-26-1"),
            2,
            "error: --cve: 'CVE-26-1' is not a CVE id (CVE-YYYY-NNNN, four or more digits).",
        )

    def test_every_bad_value_is_named_at_once_by_the_flag_that_was_typed(self) -> None:
        err = self.assert_refused(
            ("create", "--incident", "INC-1999-0042", "--title", "T", "--reported", "yesterday",
             "--cve", "CVE-1", "--product", "toaster", "--cvss-v3", "bogus", "--credit", "J:HERO",
             "--as", "nobody"),
            2,
        )  # fmt: skip
        flags = [line.split(": ")[1] for line in err.splitlines()]
        assert sorted(flags) == sorted(
            ["--incident", "--reported", "--cve", "--product", "--cvss-v3", "--credit", "--as"]
        ), err
        for internal in ("reported_at", "cve_ids", "affected", "cvss_v3_vector", "credits"):
            assert f"error: {internal}:" not in err, err

    def test_an_update_names_every_bad_value_and_the_missing_version_together(self) -> None:
        advisory = self.draft()
        err = self.assert_refused(
            ("update", advisory.identifier, "--fixed", "soon", "--cwe", "XSS",
             "--status", "fixed", "--region", "MARS"),
            2,
        )  # fmt: skip
        for line in (
            "error: --version: Give --version N, the version you read "
            "(herald advisory show prints it).",
            "error: --fixed: 'soon' is not a date (YYYY-MM-DD).",
            "error: --cwe: 'XSS' is not a CWE id (CWE-79).",
        ):
            assert line in err.splitlines(), err
        assert "error: --region: Unknown region(s) MARS; the vendor's regions are US, EU." in err

    def test_every_field_of_an_advisory_is_named_by_a_flag(self) -> None:
        # The names come from the parser; a field added without an option, or an
        # option whose dest drifts from the action's keyword, fails here.
        parser = Command().create_parser("herald", "advisory")
        for subcommand in ("create", "update"):
            names = option_names(parser, {"subcommand": subcommand})
            for field in (*EDITABLE_FIELDS, "affected", "credits", "references", "incident", "as"):
                assert names.get(field, "").startswith("--"), (subcommand, field)
        for subcommand, field, flag in (
            ("fix", "fixed_at", "--date"),
            ("fix", "change_summary", "--summary"),
            ("fix", "resolution_file", "--resolution-file"),
            ("resolve", "fixed_at", "--date"),
            ("publish", "scheduled_publish_at", "--at"),
            ("update", "summary", "--advisory-summary"),
            ("update", "change_summary", "--summary"),
            ("update", "expected_version", "--version"),
            ("withdraw", "reason", "--reason"),
        ):
            assert option_names(parser, {"subcommand": subcommand})[field] == flag

    def test_an_unknown_product_lists_the_known_ones(self) -> None:
        Product.objects.create(name="Northwind SDK", slug="sdk")
        self.assert_refused(
            self.create("--product", "cloud", "--product", "toaster"),
            2,
            "error: --product: Row 2: unknown product 'toaster'; the products are cloud, sdk.",
        )

    def test_a_timeline_out_of_order_names_the_later_date(self) -> None:
        err = self.assert_refused(
            self.create("--discovered", "2026-02-01", "--reported", "2026-01-01"), 2
        )
        assert err.startswith("error: --reported: Reported (2026-01-01) is before"), err

    def test_a_malformed_date_names_its_field(self) -> None:
        self.assert_refused(
            self.create("--disclosed", "yesterday"),
            2,
            "error: --disclosed: 'yesterday' is not a date (YYYY-MM-DD).",
        )

    def test_fixed_without_a_date_names_fixed_at(self) -> None:
        self.assert_refused(
            self.create("--status", "fixed"),
            2,
            "error: --fixed: Status fixed needs the date it was fixed.",
        )
        advisory = self.draft(status="reported", fixed_at=None)
        self.assert_refused(
            ("fix", advisory.identifier),
            2,
            "error: --date: Status fixed needs the date it was fixed.",
        )

    def test_an_unknown_product_is_named(self) -> None:
        self.assert_refused(
            self.create("--product", "toaster:cloud"),
            2,
            "error: --product: Row 1: unknown product 'toaster'; the products are cloud.",
        )

    def test_an_unknown_deployment_and_credit_type_are_named(self) -> None:
        err = self.assert_refused(
            self.create("--product", "cloud:moon", "--credit", "Jane:HERO"), 2
        )
        assert "error: --product: Row 1: unknown deployment 'moon'" in err
        assert "error: --credit: Credit 1: unknown type 'HERO'." in err

    def test_an_unknown_incident_is_named(self) -> None:
        self.assert_refused(
            ("create", "--incident", "INC-1999-0042", "--title", "T"),
            2,
            "error: --incident: No incident 'INC-1999-0042'.",
        )

    def test_publishing_names_every_missing_field(self) -> None:
        self.run_cli(*self.create())
        advisory = Advisory.objects.get()
        self.assert_refused(
            ("publish", advisory.identifier),
            2,
            "error: description: Publishing needs a description.",
            "error: severity: Publishing needs a severity (or a CVSS vector).",
            "error: affected_users: Publishing needs who is affected.",
            "error: reported_at: Publishing needs the date it was reported.",
        )

    def test_publishing_with_a_confirmed_exposure_creates_the_outreach_campaign(self) -> None:
        advisory = self.draft(confirmed_exposure=True)
        self.run_cli("publish", advisory.identifier)
        assert advisory.campaigns.get().status == "draft"  # rule 4: approved and sent by a person

    def test_a_scheduled_publication_takes_no_waiver(self) -> None:
        advisory = self.draft()
        err = self.assert_refused(
            ("publish", advisory.identifier, "--at", "2030-01-01T09:00Z", "--waive-outreach", "x"),
            2,
        )
        assert err.startswith("error: --at: "), err

    def test_a_stale_version_is_a_conflict_that_saves_nothing(self) -> None:
        advisory = self.draft()
        self.run_cli("update", advisory.identifier, "--version", "1", "--title", "Mine")
        err = self.assert_refused(
            ("update", advisory.identifier, "--version", "1", "--title", "Theirs"), 1
        )
        assert "you edited version 1, it is now version 2" in err
        advisory.refresh_from_db()
        assert advisory.title == "Mine"

    def test_update_needs_the_version_that_was_read(self) -> None:
        advisory = self.draft()
        err = self.assert_refused(("update", advisory.identifier, "--title", "New"), 2)
        assert err.startswith("error: --version: Give --version N"), err

    def test_a_public_advisory_changes_only_with_a_change_summary(self) -> None:
        advisory = self.published()
        err = self.assert_refused(
            ("update", advisory.identifier, "--version", str(advisory.version), "--title", "New"), 2
        )
        assert err.startswith("error: --summary: "), err

    def test_withdrawing_needs_a_reason(self) -> None:
        advisory = self.published()
        self.assert_refused(
            ("withdraw", advisory.identifier),
            2,
            "error: --reason: Say why the advisory is withdrawn.",
        )

    def test_a_refused_action_exits_1(self) -> None:
        advisory = self.draft()
        self.assert_refused(
            ("withdraw", advisory.identifier, "--reason", "Oops"),
            1,
            f"error: {advisory.identifier} was never published; "
            "a draft is simply left unpublished.",
        )
        self.assert_refused(("show", "NW-1999-0001"), 1, "error: No advisory 'NW-1999-0001'.")

    def test_an_unknown_key_in_the_json_is_named(self) -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
            json.dump({"title": "T", "titel": "typo"}, fh)
        self.addCleanup(os.unlink, fh.name)
        self.assert_refused(
            ("create", "--incident", self.incident.identifier, "--from-json", fh.name),
            2,
            "error: titel: Not a field of an advisory.",
        )

    def test_a_file_that_is_not_json_is_named(self) -> None:
        err = self.assert_refused(
            ("create", "--incident", self.incident.identifier, "--from-json", "/nonexistent.json"),
            2,
        )
        assert err.startswith("error: --from-json: /nonexistent.json cannot be read"), err
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
            fh.write("{not json")
        self.addCleanup(os.unlink, fh.name)
        err = self.assert_refused(
            ("create", "--incident", self.incident.identifier, "--from-json", fh.name), 2
        )
        assert "is not JSON" in err

    def test_a_missing_description_file_is_named(self) -> None:
        err = self.assert_refused(self.create("--description-file", "/nonexistent.md"), 2)
        assert err.startswith("error: --description-file: /nonexistent.md cannot be read"), err

    def test_as_an_outsider_is_refused(self) -> None:
        self.assert_refused(
            self.create("--as", "charlie"),
            2,
            "error: --as: charlie has no desk access; actions are recorded only for desk accounts.",
        )


class ReadTests(AdvisoryCommandTestCase):
    def test_list_filters_by_state_and_status_and_includes_drafts(self) -> None:
        draft = self.draft(status="reported", fixed_at=None)
        published = self.published()
        listed = [a["identifier"] for a in self.run_json("list")]
        assert sorted(listed) == sorted([draft.identifier, published.identifier])
        assert [a["identifier"] for a in self.run_json("list", "--state", "draft")] == [
            draft.identifier
        ]
        assert [a["identifier"] for a in self.run_json("list", "--status", "fixed")] == [
            published.identifier
        ]
        text = self.run_cli("list", "--state", "published")
        assert published.identifier in text
        assert draft.identifier not in text

    def test_show_lays_the_advisory_out_like_the_page_template(self) -> None:
        advisory = self.published(cvss_v3_vector=CVSS_V3)
        text = self.run_cli("show", advisory.identifier)
        for line in (
            "CVE:       CVE-2026-12345",
            f"Severity:  Medium (CVSS 3 5.4: {CVSS_V3})",
            "Status:    Fixed",
            "- Discovered: January 10, 2026",
            "- Fixed: January 12, 2026",
            "Description:",
            "Affected users:",
            "Resolution:",
        ):
            assert line in text.splitlines()
        assert f"published, version {advisory.version}" in text


class HelpTests(HeraldTestCase):
    def test_help_lists_every_subcommand_and_each_has_examples(self) -> None:
        parser = Command().create_parser("herald", "advisory")
        text = parser.format_help()
        for name in ("create", "update", "publish", "fix", "resolve", "withdraw", "list", "show"):
            assert name in text
        subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        for name, sub in subparsers.choices.items():
            assert "example" in sub.format_help(), name

    def test_the_examples_use_identifiers_as_the_desk_writes_them(self) -> None:
        do_update_vendor_profile(acting_user=None, advisory_prefix="NWA")
        parser = Command().create_parser("herald", "advisory")
        subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        pages = [parser.format_help(), *(sub.format_help() for sub in subparsers.choices.values())]
        assert "NWA-2026-0001" in pages[0]
        for page in pages:
            assert "NW-" not in page and "PREFIX" not in page, page

    def test_the_help_leaves_out_djangos_options(self) -> None:
        text = Command().create_parser("herald", "advisory").format_help()
        for option in ("--verbosity", "--settings", "--pythonpath", "--traceback", "--no-color",
                       "--force-color", "--skip-checks"):  # fmt: skip
            assert option not in text


class ConsoleScriptTests(HeraldTransactionTestCase):
    """The installed ``herald`` script, in a process of its own, on the test database.

    Real commits: the child process sees only committed rows, and what it
    commits is flushed after the test.
    """

    def herald(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        script = shutil.which("herald", path=str(Path(sys.executable).parent))
        assert script is not None, "the herald console script is not installed"
        env = dict(os.environ)
        settings = connection.settings_dict
        # The test database, whatever pytest-django named it for this worker.
        if settings["ENGINE"].endswith("sqlite3"):
            env["DATABASE_URL"] = f"sqlite:///{settings['NAME']}"
        else:
            env["DATABASE_URL"] = (
                f"postgres://{settings['USER']}:{settings['PASSWORD'] or ''}@"
                f"{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
            )
        return subprocess.run(
            [str(script), *args], input=stdin, capture_output=True, text=True, env=env,
            timeout=120, check=False,
        )  # fmt: skip

    def test_the_herald_script_runs_the_commands_and_exits_with_their_status(self) -> None:
        declared = self.herald(
            "incident", "declare", "--title", "Token leak", "--as", "bob", "--json"
        )
        assert declared.returncode == 0, declared.stderr
        incident = json.loads(declared.stdout)["identifier"]

        bad = self.herald("advisory", "create", "--incident", incident, "--title", "T",
                          "--cve", "CVE-1")  # fmt: skip
        assert bad.returncode == 2
        assert (
            bad.stderr.strip()
            == "error: --cve: 'CVE-1' is not a CVE id (CVE-YYYY-NNNN, four or more digits)."
        )
        assert bad.stdout == ""

        created = self.herald(
            "advisory", "create", "--incident", incident, "--title", "Token leak in logs",
            "--description", "Tokens were logged.", "--severity", "high",
            "--affected-users", "Cloud customers in the EU region", "--reported", "2026-01-11",
            "--product", "cloud", "--as", "bob", "--json",
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        identifier = json.loads(created.stdout)["identifier"]
        published = self.herald("advisory", "publish", identifier, "--version", "1")
        assert published.returncode == 0, published.stderr
        identifier = Advisory.objects.get().identifier  # the public number
        assert published.stdout.strip() == f"{identifier} published: Token leak in logs"

        stale = self.herald("advisory", "publish", identifier, "--version", "1")
        assert stale.returncode == 1
        assert stale.stderr.startswith("error: "), stale.stderr

        usage = self.herald("advisory", "list", "--state", "lost")
        assert usage.returncode == 2

        assert Advisory.objects.get().state == "published"
        assert AuditEvent.objects.filter(action="advisory.create").get().actor == "bob"

    def test_the_help_is_readable(self) -> None:
        for args in (
            ("incident", "--help"),
            ("advisory", "--help"),
            ("advisory", "update", "--help"),
        ):
            result = self.herald(*args)
            assert result.returncode == 0, result.stderr
            assert "example" in result.stdout
