"""A repository's advisories and private vulnerability reports, imported into intake once."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings

from herald.audit.models import AuditEvent
from herald.core.errors import HeraldError
from herald.github.imports import do_import_repository
from herald.github.models import ImportedAdvisory
from herald.github.tests.peer import advisory_answer, answer_now, github_peer, settings_for
from herald.intake.models import Report
from herald.test import HeraldTestCase

LIST = "security-advisories/list-repository-advisories"


def report_from_github(ghsa: str, state: str, summary: str) -> dict[str, object]:
    return advisory_answer(
        ghsa_id=ghsa,
        state=state,
        summary=summary,
        cve_id=None,
        html_url=f"https://github.com/northwind/sdk/security/advisories/{ghsa}",
    )


class ImportTests(HeraldTestCase):
    def setUp(self) -> None:
        self.peer = github_peer()
        overridden = override_settings(**settings_for(self.peer))
        overridden.enable()
        self.addCleanup(overridden.disable)

    def test_advisories_and_private_reports_become_reports_once(self) -> None:
        answer_now(
            self.peer,
            LIST,
            status=200,
            body=[
                report_from_github("GHSA-aaaa-bbbb-cccc", "triage", "Token leak in logs"),
                report_from_github("GHSA-dddd-eeee-ffff", "published", "XSS in names"),
            ],
        )
        result = do_import_repository("northwind/sdk", acting_user=self.bob)
        self.peer.assert_clean()
        (sent,) = self.peer.requests
        assert sent.path == "/repos/northwind/sdk/security-advisories"
        assert [g for g, _ in result.added] == ["GHSA-aaaa-bbbb-cccc", "GHSA-dddd-eeee-ffff"]
        report = Report.objects.get(title="Token leak in logs")
        assert report.source == "github"
        assert "GHSA-aaaa-bbbb-cccc" in report.body and "(triage)" in report.body
        assert report.reporter.email.endswith("@users.noreply.github.com")
        assert report.reporter.handle == "octocat"
        assert AuditEvent.objects.filter(action="github.import").count() == 2
        # The same repository again: nothing new.
        again = do_import_repository("northwind/sdk", acting_user=self.bob)
        assert again.added == [] and len(again.known) == 2
        assert Report.objects.filter(source="github").count() == 2
        assert ImportedAdvisory.objects.count() == 2

    def test_every_page_is_read(self) -> None:
        nxt = '<https://api.github.com/repos/northwind/sdk/security-advisories?per_page=100&after=Y3Vyc29y>; rel="next"'  # noqa: E501
        self.peer.respond(
            LIST,
            status=200,
            body=[report_from_github("GHSA-aaaa-bbbb-cccc", "draft", "First")],
            headers={"Link": nxt},
        )
        self.peer.respond(
            LIST, status=200, body=[report_from_github("GHSA-dddd-eeee-ffff", "closed", "Second")]
        )
        result = do_import_repository("northwind/sdk", acting_user=self.bob)
        self.peer.assert_clean()
        assert len(result.added) == 2
        assert self.peer.requests[1].query["after"] == ["Y3Vyc29y"]

    def test_an_unknown_repository_is_said_plainly(self) -> None:
        answer_now(self.peer, LIST, status=404, body={"message": "Not Found"})
        with pytest.raises(HeraldError, match="no such repository"):
            do_import_repository("northwind/nothing", acting_user=self.bob)
        self.peer.assert_clean()

    def test_the_command_prints_what_it_imported(self) -> None:
        answer_now(
            self.peer,
            LIST,
            status=200,
            body=[report_from_github("GHSA-aaaa-bbbb-cccc", "triage", "Token leak")],
        )
        out = StringIO()
        call_command("github", "import", "northwind/sdk", "--as", "bob", stdout=out)
        assert "1 imported, 0 already imported" in out.getvalue()
        out = StringIO()
        call_command("github", "import", "northwind/sdk", "--json", stdout=out)
        assert json.loads(out.getvalue())["already_imported"] == ["GHSA-aaaa-bbbb-cccc"]
        self.peer.assert_clean()
