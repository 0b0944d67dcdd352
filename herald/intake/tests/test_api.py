"""The reports API, mounted as the lead will mount it (see tests/urls.py)."""

from __future__ import annotations

import base64
import json
from typing import Any

from django.test import override_settings

from herald.intake import actions
from herald.intake.models import Report
from herald.intake.tests.base import REPORTER, IntakeTestCase


class ReportsApi(IntakeTestCase):
    def post(self, url: str, data: dict[str, Any], **extra: Any) -> Any:
        with self.committing():
            response = self.client.post(
                url, json.dumps(data), content_type="application/json", **extra
            )
        self.run_worker()
        return response

    def report(self, **overrides: Any) -> dict[str, Any]:
        return {
            "email": REPORTER,
            "title": "SSRF in webhooks",
            "body": "Point a webhook at http://169.254.169.254/ and read the metadata.",
            **overrides,
        }

    def test_a_report_sent_by_the_api_is_acknowledged_with_its_private_link(self) -> None:
        attachment = {"filename": "poc.txt", "data_base64": base64.b64encode(b"curl\n").decode()}
        response = self.post("/api/v1/reports", self.report(attachments=[attachment]))
        assert response.status_code == 201
        body = response.json()
        report = Report.objects.get(tracking_id=body["tracking_id"])
        assert report.source == "api" and body["state"] == "new"
        assert body["thread_url"] == f"https://herald.example/security/reports/{report.token}/"
        assert [a.filename for a in report.attachments.all()] == ["poc.txt"]
        assert len(self.mail_to_reporter()) == 1

    def test_invalid_fields_are_named_in_the_api_error_shape(self) -> None:
        response = self.post("/api/v1/reports", self.report(email="not-an-address", title=""))
        assert response.status_code == 422
        body = response.json()
        assert {e["field"] for e in body["errors"]} == {"email"} and body["detail"]
        bad = self.post(
            "/api/v1/reports", self.report(attachments=[{"filename": "x", "data_base64": "%%%"}])
        )
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "attachments"
        assert not Report.objects.exists()

    @override_settings(HERALD_INTAKE_RATE_PER_IP=1)
    def test_the_api_is_rate_limited_like_the_form(self) -> None:
        assert self.post("/api/v1/reports", self.report()).status_code == 201
        response = self.post("/api/v1/reports", self.report(email="b@x.example"))
        assert response.status_code == 429 and "Too many" in response.json()["detail"]

    def test_the_reporter_reads_and_answers_the_thread_by_its_token(self) -> None:
        token = self.post("/api/v1/reports", self.report()).json()["token"]
        report = Report.objects.get()
        actions.do_add_note(report, "internal only", acting_user=self.bob)
        response = self.post(f"/api/v1/reports/thread/{token}/messages", {"body": "More info."})
        assert response.status_code == 201
        thread = self.client.get(f"/api/v1/reports/thread/{token}").json()
        assert [m["body"] for m in thread["messages"]][-1] == "More info."
        assert "internal only" not in json.dumps(thread)
        assert self.client.get("/api/v1/reports/thread/wrong").status_code == 404

    def test_the_desk_endpoints_are_for_signed_in_staff_only(self) -> None:
        self.post("/api/v1/reports", self.report())
        report = Report.objects.get()
        actions.do_add_note(report, "internal only", acting_user=self.bob)
        assert self.client.get("/api/v1/reports").status_code == 401
        self.login(self.charlie)
        assert self.client.get("/api/v1/reports").status_code == 401
        self.login(self.bob)
        [row] = self.client.get("/api/v1/reports").json()
        assert row["tracking_id"] == report.tracking_id and row["overdue"] is False
        detail = self.client.get(f"/api/v1/reports/{report.tracking_id}").json()
        assert any(m["internal"] and m["body"] == "internal only" for m in detail["messages"])
        assert self.client.get("/api/v1/reports?state=bogus").status_code == 422
