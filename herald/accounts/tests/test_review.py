"""The access review (page and command) and the audit log (view, export, verify)."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from herald.accounts.actions import do_add_collaborator
from herald.accounts.tests.base import AccountsTestCase, client_for
from herald.audit.models import AuditEvent
from herald.test import make_user


class AccessReviewTest(AccountsTestCase):
    def review(self, *args: str) -> str:
        out = io.StringIO()
        call_command("access_review", *args, stdout=out)
        return out.getvalue()

    def test_the_review_lists_every_account_with_role_factors_tokens_and_items(self) -> None:
        token, _ = self.token_for(self.bob, ["read"])
        draft = self.draft()
        rita = make_user("rita")
        do_add_collaborator(rita, advisory=draft, acting_user=self.bob)
        data = json.loads(self.review("--format", "json"))
        rows = {r["username"]: r for r in data["accounts"]}
        assert set(rows) == {"alice", "bob", "sam", "vera", "charlie", "rita"}
        assert rows["alice"]["role"] == "admin" and rows["bob"]["role"] == "responder"
        assert rows["sam"]["role"] == "support" and rows["vera"]["role"] == "viewer"
        assert rows["bob"]["mfa"] == ["totp"]
        assert rows["bob"]["tokens"][0]["prefix"] == token.prefix
        assert rows["bob"]["tokens"][0]["last_used_at"] is None
        assert rows["rita"]["items"] == [f"advisory {draft.identifier}"]
        assert "no-mfa" in rows["rita"]["flags"]  # a collaborator without a second factor
        assert "no-mfa" not in rows["bob"]["flags"] and "no-mfa" not in rows["charlie"]["flags"]

    def test_accounts_unused_for_90_days_are_flagged(self) -> None:
        type(self.sam).objects.filter(pk=self.sam.pk).update(
            last_login=timezone.now() - dt.timedelta(days=91),
            date_joined=timezone.now() - dt.timedelta(days=200),
        )
        csv_text = self.review()
        line = next(row for row in csv_text.splitlines() if row.startswith("sam,"))
        assert "unused-90d" in line
        assert "unused" not in next(r for r in csv_text.splitlines() if r.startswith("bob,"))
        with pytest.raises(CommandError):
            call_command("access_review", "--check", "--flagged", stdout=io.StringIO())

    def test_the_review_page_is_for_admins_and_downloads_csv_and_json(self) -> None:
        page = client_for(self.alice).get("/desk/admin/people/")
        self.assertContains(page, "sam")
        for who in (self.bob, self.sam, self.vera, self.charlie):
            assert client_for(who).get("/desk/admin/people/").status_code == 403
        csv_file = client_for(self.alice).get("/desk/admin/access-review/?format=csv")
        assert csv_file["Content-Type"].startswith("text/csv")
        assert b"username,email,role" in csv_file.content
        data = client_for(self.alice).get("/desk/admin/access-review/?format=json").json()
        assert len(data["accounts"]) == 5

    def test_a_formula_in_a_name_is_defused_in_the_csv(self) -> None:
        make_user("=HYPERLINK(evil)")
        assert "'=HYPERLINK(evil)" in self.review()

    def test_the_cli_spells_it_access_review(self) -> None:
        import subprocess
        import sys

        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "from herald.cli import main; main(['access-review', '--help'])",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0 and "--format" in result.stdout


class AuditTest(AccountsTestCase):
    def test_verify_passes_then_fails_after_a_row_is_edited_in_the_database(self) -> None:
        with self.captureOnCommitCallbacks(execute=True):  # commits write the anchor
            self.published()
        out = io.StringIO()
        call_command("audit", "verify", stdout=out)
        assert "intact" in out.getvalue()
        event = AuditEvent.objects.filter(action="advisory.publish").get()
        AuditEvent.objects.filter(pk=event.pk).update(actor="mallory")
        with pytest.raises(CommandError):
            call_command("audit", "verify", stdout=io.StringIO(), stderr=io.StringIO())
        page = client_for(self.alice).get("/desk/admin/audit/?verify=1")
        self.assertContains(page, "The chain is broken")

    def test_verify_again_keeps_the_filter_and_adds_verify_once(self) -> None:
        admin = client_for(self.alice)
        page = admin.get("/desk/admin/audit/?actor=alice&verify=1&verify=1&page=1")
        assert page.context["problems"] is not None  # verified
        self.assertContains(page, 'href="?actor=alice&amp;verify=1">Verify the chain</a>')
        assert page.context["query"] == "actor=alice"
        page = admin.get("/desk/admin/audit/?verify=1")
        self.assertContains(page, 'href="?verify=1">Verify the chain</a>')

    def test_the_audit_view_filters_by_object_and_actor_and_exports(self) -> None:
        advisory = self.published()
        self.token_for(self.alice, ["read"])
        admin = client_for(self.alice)
        page = admin.get(f"/desk/admin/audit/?object={advisory.identifier}")
        actions = [e.action for e in page.context["page"]]
        assert "advisory.create" in actions and "advisory.publish" in actions
        assert "token.create" not in actions
        page = admin.get("/desk/admin/audit/?actor=alice")
        assert {e.action for e in page.context["page"]} >= {"token.create"}
        assert all(e.actor == "alice" for e in page.context["page"])
        export = admin.get(f"/desk/admin/audit/export/?object={advisory.identifier}")
        lines = [json.loads(line) for line in export.content.decode().splitlines()]
        assert [e["seq"] for e in lines] == sorted(e["seq"] for e in lines)
        assert all(len(e["hash"]) == 64 for e in lines)
        for who in (self.bob, self.sam, self.vera, self.charlie):
            assert client_for(who).get("/desk/admin/audit/").status_code == 403
        assert Client().get("/desk/admin/audit/export/").status_code == 302
