"""Size and count limits: the documented attachment fits through the API and the form, and
whatever is over a limit gets a clear answer (JSON for the API, the form again for a
person), never Django's bare 400."""

from __future__ import annotations

import base64
import json
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from herald.accounts.actions import do_create_token
from herald.advisories.models import Advisory
from herald.intake import conf
from herald.intake.models import Report
from herald.intake.tests.base import REPORTER, IntakeTestCase
from herald.intake.tests.test_web import form

MAX_BYTES = 10 * 1024 * 1024  # the documented default of HERALD_INTAKE_MAX_ATTACHMENT_BYTES
# Small limits, so that "over the limit" is a small request.
SMALL = {
    "HERALD_INTAKE_MAX_ATTACHMENTS": 1,
    "HERALD_INTAKE_MAX_ATTACHMENT_BYTES": 1000,
    "HERALD_INTAKE_MAX_BODY": 1000,
}


def largest_text() -> bytes:
    return b"A" * (MAX_BYTES - 1) + b"\n"


class ApiLimits(IntakeTestCase):
    def post(self, url: str, data: Any, **extra: Any) -> Any:
        body = data if isinstance(data, (bytes, str)) else json.dumps(data)
        with self.committing():
            return self.client.post(url, body, content_type="application/json", **extra)

    def test_a_report_with_the_largest_attachment_is_taken(self) -> None:
        attachment = {
            "filename": "dump.txt",
            "data_base64": base64.b64encode(largest_text()).decode(),
        }
        response = self.post(
            "/api/v1/reports",
            {
                "email": REPORTER,
                "title": "Big",
                "body": "See the dump.",
                "attachments": [attachment],
            },
        )
        assert response.status_code == 201, response.content[:300]
        report = Report.objects.get(tracking_id=response.json()["tracking_id"])
        assert report.attachments.get().size == MAX_BYTES

    def test_the_body_limit_covers_every_attachment_at_its_largest(self) -> None:
        encoded = (MAX_BYTES + 2) // 3 * 4
        assert conf.max_request_bytes() > 5 * encoded

    @override_settings(**SMALL)
    def test_a_report_over_the_limit_is_a_413_naming_the_limit_and_nothing_is_saved(self) -> None:
        limit = conf.max_request_bytes()
        response = self.post(
            "/api/v1/reports", {"email": REPORTER, "title": "Big", "body": "x" * (limit + 1)}
        )
        assert response.status_code == 413
        assert response["Content-Type"] == "application/json"
        body = response.json()
        assert f"{limit:,} bytes" in body["detail"] and body["errors"] == []
        assert not Report.objects.exists()

    def test_other_api_bodies_over_2_5_mib_are_a_413_in_the_api_shape(self) -> None:
        _, token = do_create_token(
            user=self.bob, name="t", scopes=["write"], days=1, acting_user=self.bob
        )
        response = self.post(
            "/api/v1/desk/advisories",
            {"title": "Big", "description": "x" * 3_000_000},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 413
        assert "at most 2.5 MiB (2,621,440 bytes)" in response.json()["detail"]
        assert not Advisory.objects.filter(title="Big").exists()


class FormLimits(IntakeTestCase):
    def post(self, data: dict[str, Any]) -> Any:
        with self.committing():
            response = self.client.post("/security/report/", data)
        self.run_worker()
        return response

    def test_the_form_takes_the_largest_attachment(self) -> None:
        upload = SimpleUploadedFile("dump.txt", largest_text(), content_type="text/plain")
        response = self.post(form(attachments=[upload]))
        assert response.status_code == 302
        assert Report.objects.get().attachments.get().size == MAX_BYTES

    def test_a_three_megabyte_description_gets_the_forms_own_error(self) -> None:
        response = self.post(form(body="x" * 3_000_000))
        assert response.status_code == 400
        assert b"<form" in response.content and b"errorlist" in response.content
        assert not Report.objects.exists()

    def test_more_than_a_hundred_files_re_renders_the_form_with_the_message(self) -> None:
        files = [SimpleUploadedFile(f"f{i}.txt", b"x\n") for i in range(101)]
        response = self.post(form(attachments=files))
        assert response.status_code == 413
        page = response.content.decode()
        assert "<form" in page and "Too many files: at most 100" in page
        assert not Report.objects.exists()

    @override_settings(**SMALL)
    def test_a_form_over_the_size_limit_re_renders_with_the_limit(self) -> None:
        limit = conf.max_request_bytes()
        upload = SimpleUploadedFile("big.txt", b"x" * (limit + 1))
        response = self.post(form(attachments=[upload]))
        assert response.status_code == 413
        page = response.content.decode()
        assert "<form" in page and f"{limit:,} bytes" in page
        assert not Report.objects.exists()

    def test_a_reply_over_the_limit_re_renders_the_thread_with_the_message(self) -> None:
        self.post(form())
        report = Report.objects.get()
        before = report.messages.count()
        with override_settings(**SMALL):
            response = self.client.post(
                f"/security/reports/{report.token}/",
                {"action": "reply", "body": "x" * (conf.max_request_bytes() + 1)},
            )
        assert response.status_code == 413
        assert b"The request is too large" in response.content
        assert report.messages.count() == before

    def test_another_page_over_its_limit_says_what_was_too_big(self) -> None:
        response = Client().post("/security/subscribe/", {"email": "x" * 3_000_000})
        assert response.status_code == 413
        assert b"The request is too large" in response.content
        assert b"2.5 MiB" in response.content
