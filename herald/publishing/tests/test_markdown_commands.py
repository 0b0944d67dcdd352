"""``herald export markdown`` and ``herald import markdown`` as a person runs them."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from herald.advisories.models import Advisory
from herald.audit.models import AuditEvent
from herald.cli import main
from herald.incidents.models import Incident, IncidentEvent
from herald.publishing.actions import markdown_page
from herald.publishing.tests.markdown_pages import FULL_PAGE, line_of
from herald.publishing.tests.test_markdown_git import PAGE, git, make_repo
from herald.test import HeraldTestCase, shared_path


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


class MarkdownCommandTests(HeraldTestCase):
    def setUp(self) -> None:
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        self.tmp = Path(scratch.name)

    def write_page(self, text: str = FULL_PAGE, name: str = "security-advisories.md") -> Path:
        path = self.tmp / name
        path.write_text(text, encoding="utf-8")
        return path

    def test_import_prints_the_incident_and_every_advisory_it_created(self) -> None:
        path = self.write_page()
        out, _ = run("import", "markdown", str(path), "--as", "alice")
        incident = Incident.objects.get()
        assert f"Incident {incident.identifier} (declared for this import)" in out
        assert out.count("  created  ") == 4
        assert "Session tokens logged in plain text" in out
        assert "4 created, 0 updated, 0 unchanged" in out
        assert incident.declared_by == "alice"

    def test_import_then_export_gives_back_the_seed_page_byte_for_byte(self) -> None:
        seed = shared_path("seed", "security-advisories.md")
        run("import", "markdown", str(seed))
        output = self.tmp / "out.md"
        run("export", "markdown", "--output", str(output))
        assert output.read_bytes() == seed.read_bytes()

    def test_export_writes_the_page_to_stdout_by_default(self) -> None:
        self.published()
        out, _ = run("export", "markdown")
        assert out == markdown_page()
        assert "### Stored XSS in dashboard names" in out

    def test_a_second_import_says_there_is_nothing_to_change(self) -> None:
        path = self.write_page()
        run("import", "markdown", str(path))
        out, _ = run("import", "markdown", str(path))
        assert out.startswith("Nothing to change")
        assert Incident.objects.count() == 1

    def test_import_into_a_named_incident(self) -> None:
        incident = self.declare("Old page")
        out, _ = run(
            "import", "markdown", str(self.write_page()), "--incident", incident.identifier
        )
        assert f"Incident {incident.identifier} (as given)" in out
        assert Incident.objects.count() == 1

    def test_a_malformed_page_is_an_error_naming_the_line_and_nothing_is_imported(self) -> None:
        text = FULL_PAGE.replace("**Severity:** High", "**Severity:** Severe")
        before = (Advisory.objects.count(), Incident.objects.count(), AuditEvent.objects.count())
        with pytest.raises(CommandError) as caught:
            run("import", "markdown", str(self.write_page(text)))
        assert str(caught.value).startswith(f"line {line_of(text, 'Severe')}: unknown severity")
        assert (
            Advisory.objects.count(),
            Incident.objects.count(),
            AuditEvent.objects.count(),
        ) == before

    def test_the_herald_command_prints_error_line_n_and_exits_non_zero(self) -> None:
        text = FULL_PAGE.replace("CVE-2026-20001", "CVE-26-1")
        err = io.StringIO()
        # run_from_argv closes the database connections when it ends, as a process
        # would; the test's transaction must outlive it.
        with (
            mock.patch("django.core.management.base.connections.close_all"),
            contextlib.redirect_stderr(err),
            pytest.raises(SystemExit) as exited,
        ):
            # --skip-checks: this is about the error's form; the system checks of
            # other apps have their own tests.
            main(["import", "markdown", str(self.write_page(text)), "--skip-checks"])
        assert exited.value.code != 0
        assert err.getvalue().startswith(f"error: line {line_of(text, 'CVE-26-1')}: 'CVE-26-1'")
        assert Advisory.objects.count() == 0

    def test_an_unreadable_or_non_utf8_file_is_an_error(self) -> None:
        with pytest.raises(CommandError, match=r"missing\.md cannot be read"):
            run("import", "markdown", str(self.tmp / "missing.md"))
        latin = self.tmp / "latin.md"
        latin.write_bytes(b"---\ntitle: x\n---\n\ncaf\xe9\n")
        with pytest.raises(CommandError, match=r"latin\.md is not UTF-8 text \(line 5\)"):
            run("import", "markdown", str(latin))

    def test_an_unknown_account_is_refused(self) -> None:
        with pytest.raises(CommandError, match="No active account named 'mallory'"):
            run("import", "markdown", str(self.write_page()), "--as", "mallory")

    def test_drafts_never_appear_in_the_exported_file(self) -> None:
        self.published()
        self.draft(
            title="QUOKKA-5521 embargoed", description="QUOKKA-5521", cve_ids=["CVE-2026-55210"]
        )
        output = self.tmp / "page.md"
        run("export", "markdown", "-o", str(output))
        text = output.read_text()
        assert "Stored XSS" in text
        assert "QUOKKA-5521" not in text and "CVE-2026-55210" not in text

    def test_export_to_git_commits_on_a_branch_for_the_latest_open_incident(self) -> None:
        repo = make_repo(self.tmp / "site")
        self.declare("Older incident")
        latest = self.declare("Token leak")
        self.published(latest)
        out, _ = run("export", "markdown", "--git-repo", str(repo), "--path", PAGE, "--as", "bob")
        branch = git(repo, "rev-parse", "--abbrev-ref", "HEAD")
        assert branch.startswith(f"herald/{latest.identifier}-")
        assert f"on branch {branch}" in out and "push -u origin" in out
        assert git(repo, "log", "-1", "--format=%s") == (
            f"Security advisories: update for {latest.identifier} (Token leak)"
        )
        assert (repo / PAGE).read_text() == markdown_page()
        event = AuditEvent.objects.get(action="publishing.export_git")
        assert event.after is not None
        assert (event.actor, event.after["branch"]) == ("bob", branch)
        assert latest.events.filter(kind=IncidentEvent.Kind.NOTE, message__contains=branch).exists()

    def test_export_to_git_without_an_open_incident_asks_for_one(self) -> None:
        repo = make_repo(self.tmp / "site")
        with pytest.raises(CommandError, match=r"no incident is open.*--incident ID"):
            run("export", "markdown", "--git-repo", str(repo), "--path", PAGE)
        assert git(repo, "branch", "--list") == "* main"

    def test_export_to_git_refuses_a_dirty_page_with_the_reason(self) -> None:
        repo = make_repo(self.tmp / "site")
        incident = self.declare()
        (repo / PAGE).write_text("local edit\n")
        with pytest.raises(CommandError, match="uncommitted changes"):
            run(
                "export",
                "markdown",
                "--git-repo",
                str(repo),
                "--path",
                PAGE,
                "--incident",
                incident.identifier,
            )
        assert AuditEvent.objects.filter(action="publishing.export_git").count() == 0

    def test_git_options_go_together(self) -> None:
        with pytest.raises(CommandError, match="needs --path"):
            run("export", "markdown", "--git-repo", str(self.tmp))
        with pytest.raises(CommandError, match="go with --git-repo"):
            run("export", "markdown", "--path", "x.md")

    def test_help_explains_the_commands(self) -> None:
        for command, words in (("export", "--git-repo DIR"), ("import", "nothing does")):
            result = subprocess.run(
                [sys.executable, "-m", "herald.cli", command, "--help"],
                capture_output=True,
                text=True,
                check=True,
            )
            assert words in result.stdout
            assert "markdown" in result.stdout
