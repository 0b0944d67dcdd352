"""The public form and the desk's pages: abuse controls, limits, files, and who sees what."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from herald.intake import actions
from herald.intake.models import Attachment, Report
from herald.intake.tests.base import REPORTER, IntakeTestCase


def form(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "email": REPORTER,
        "title": "IDOR on invoices",
        "body": "GET /invoices/2 shows another customer's invoice.",
        "credit_as": "name",
        "credit_type": "FINDER",
        "website": "",
    }
    values.update(overrides)
    return values


class PublicForm(IntakeTestCase):
    def post(self, data: dict[str, Any], **extra: Any) -> Any:
        with self.committing():
            response = self.client.post("/security/report/", data, **extra)
        self.run_worker()
        return response

    def test_the_form_works_without_an_account_or_javascript(self) -> None:
        page = self.client.get("/security/report/")
        assert page.status_code == 200 and b"<script" not in page.content
        response = self.post(form())
        report = Report.objects.get()
        assert response.status_code == 302 and report.source == "web"
        assert len(self.mail_to_reporter()) == 1

    def test_a_new_report_from_a_known_address_shows_only_what_its_sender_gave(self) -> None:
        # Anyone can type a known reporter's address: the page the form leads to
        # must not tell them the name or handle stored from the earlier report.
        self.post(form(name="Ada Lovelace", handle="ada_l"))
        response = self.post(form(name="Mallory", handle=""))
        assert response.status_code == 302
        page = self.client.get(response["Location"])
        assert page.status_code == 200
        assert b"Ada Lovelace" not in page.content and b"ada_l" not in page.content
        assert b'<strong id="credit">Mallory</strong>' in page.content
        nameless = self.client.get(self.post(form(name="", handle=""))["Location"])
        assert b"Ada Lovelace" not in nameless.content and b"ada_l" not in nameless.content
        first, second, third = Report.objects.order_by("pk")
        assert actions.credit_for(first)["name"] == "Ada Lovelace"
        assert actions.credit_for(second)["name"] == "Mallory"
        assert actions.credit_for(third)["name"] == "Anonymous researcher"
        # The stored reporter keeps what the first report gave.
        assert (first.reporter.name, first.reporter.handle) == ("Ada Lovelace", "ada_l")
        # Changing the credit on the second report's page changes that report only.
        self.client.post(
            response["Location"],
            {"action": "credit", "credit_as": "name", "name": "M. Allory", "handle": "",
             "credit_type": "FINDER"},
        )  # fmt: skip
        first.refresh_from_db()
        second.refresh_from_db()
        assert actions.credit_for(first)["name"] == "Ada Lovelace"
        assert actions.credit_for(second)["name"] == "M. Allory"

    def test_a_filled_honeypot_looks_like_success_but_creates_and_sends_nothing(self) -> None:
        response = self.post(form(website="http://spam.example"))
        assert response.status_code == 200 and b"Thank you" in response.content
        assert not Report.objects.exists() and self.inbox.messages == []

    @override_settings(HERALD_INTAKE_RATE_PER_IP=2, HERALD_INTAKE_RATE_PER_EMAIL=50)
    def test_one_address_may_send_only_so_many_reports_an_hour(self) -> None:
        for i in range(2):
            assert self.post(form(email=f"r{i}@x.example")).status_code == 302
        response = self.post(form(email="r9@x.example"))
        assert response.status_code == 429 and b"Too many reports" in response.content
        assert Report.objects.count() == 2
        other = self.post(form(email="r8@x.example"), REMOTE_ADDR="192.0.2.7")
        assert other.status_code == 302

    @override_settings(HERALD_INTAKE_RATE_PER_IP=50, HERALD_INTAKE_RATE_PER_EMAIL=2)
    def test_one_email_address_may_send_only_so_many_reports_an_hour(self) -> None:
        for i in range(2):
            self.post(form(), REMOTE_ADDR=f"192.0.2.{i + 1}")
        response = self.post(form(), REMOTE_ADDR="192.0.2.99")
        assert response.status_code == 429 and Report.objects.count() == 2

    @override_settings(HERALD_INTAKE_RATE_PER_EMAIL=2)
    def test_the_email_limit_holds_for_reports_by_mail_too(self) -> None:
        from herald.intake.tests.base import message

        for _ in range(3):
            inbound = self.receive(message())
        assert Report.objects.count() == 2
        assert inbound.status == "flagged" and "Too many reports" in inbound.problem

    @override_settings(HERALD_INTAKE_MAX_BODY=100)
    def test_an_overlong_description_is_refused_with_the_reason(self) -> None:
        response = self.post(form(body="x" * 101))
        assert response.status_code == 400 and b"Too long" in response.content
        assert not Report.objects.exists()

    def test_too_many_files_or_a_refused_type_is_an_error_on_the_form(self) -> None:
        with override_settings(HERALD_INTAKE_MAX_ATTACHMENTS=2):
            files = [SimpleUploadedFile(f"f{i}.txt", b"log\n") for i in range(3)]
            response = self.post(form(attachments=files))
        assert response.status_code == 400 and b"beyond the limit" in response.content
        exe = SimpleUploadedFile("cat.png", b"MZ\x90\x00", content_type="image/png")
        response = self.post(form(attachments=[exe]))
        assert response.status_code == 400 and b"application/x-msdownload" in response.content
        assert not Report.objects.exists()

    def test_script_in_every_field_is_shown_escaped(self) -> None:
        evil = "<script>alert(1)</script>"
        self.post(form(title=evil, body=evil, name=evil, handle=evil, product_hint=evil))
        report = Report.objects.get()
        for page in (
            self.client.get(f"/security/reports/{report.token}/").content,
            self._desk(f"/desk/reports/{report.tracking_id}/"),
            self._desk("/desk/reports/"),
        ):
            assert b"<script>alert(1)" not in page and b"&lt;script&gt;alert(1)" in page

    def test_a_trojan_source_proof_of_concept_is_shown_in_stored_order(self) -> None:
        # A report may carry bidirectional controls (the proof of concept of such an
        # attack): kept as sent, but shown written out, never reordering the page.
        poc = 'if access_level != "user\u202e \u2066// Check if admin\u2069 \u2066" {'
        self.post(form(body=poc))
        report = Report.objects.get()
        assert report.body == poc
        for page in (
            self.client.get(f"/security/reports/{report.token}/").content.decode(),
            self._desk(f"/desk/reports/{report.tracking_id}/").decode(),
        ):
            assert "\u202e" not in page and "\u2066" not in page
            assert "user\u27e6U+202E\u27e7 \u27e6U+2066\u27e7// Check if admin" in page

    def test_an_unknown_thread_address_is_not_found(self) -> None:
        assert self.client.get("/security/reports/not-a-token/").status_code == 404

    def test_the_reporter_replies_with_a_file_on_their_page(self) -> None:
        report = actions.do_submit_report(source="web", email=REPORTER, title="t", body="b")
        response = self.client.post(
            f"/security/reports/{report.token}/",
            {
                "action": "reply",
                "body": "Screenshot attached.",
                "attachments": [SimpleUploadedFile("shot.png", b"\x89PNG\r\n\x1a\n123")],
            },
        )
        assert response.status_code == 302
        reply = report.messages.get(kind="from_reporter")
        assert reply.body == "Screenshot attached."
        assert [a.filename for a in reply.attachments.all()] == ["shot.png"]

    def _desk(self, url: str) -> bytes:
        self.login(self.bob)
        content = self.client.get(url).content
        self.client.logout()
        return content


class DeskAccess(IntakeTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.report = actions.do_submit_report(
            source="web",
            email=REPORTER,
            title="t",
            body="b",
            attachments=[("trace.txt", "text/plain", b"stack trace\n")],
        )
        self.attachment = Attachment.objects.get()
        self.urls = [
            "/desk/reports/",
            f"/desk/reports/{self.report.tracking_id}/",
            "/desk/reports/rewards/",
            "/desk/reports/mail/",
            f"/desk/reports/attachments/{self.attachment.pk}/",
        ]

    def test_anonymous_visitors_are_sent_to_log_in(self) -> None:
        for url in self.urls:
            response = self.client.get(url)
            assert response.status_code == 302 and "/desk/login/" in response["Location"], url

    def test_accounts_without_desk_access_are_refused(self) -> None:
        self.login(self.charlie)
        for url in self.urls:
            assert self.client.get(url).status_code == 403, url

    def test_staff_download_attachments_never_rendered_inline(self) -> None:
        self.login(self.bob)
        response = self.client.get(f"/desk/reports/attachments/{self.attachment.pk}/")
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["Content-Type"] == "text/plain"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response.getvalue() == b"stack trace\n"

    def test_staff_triage_from_the_desk_without_javascript(self) -> None:
        self.login(self.bob)
        url = f"/desk/reports/{self.report.tracking_id}/"
        assert self.client.post(url, {"action": "note", "note-body": "hmm"}).status_code == 302
        assert self.client.post(url, {"action": "accept", "declare": "1"}).status_code == 302
        self.report.refresh_from_db()
        assert self.report.state == "accepted" and self.report.advisory is not None
        response = self.client.post(
            url, {"action": "reward", "kind": "swag", "description": "Hoodie"}
        )
        assert response.status_code == 302 and self.report.rewards.get().description == "Hoodie"
        bad = self.client.post(url, {"action": "assess", "cvss_vector": "nonsense"})
        assert bad.status_code == 400
