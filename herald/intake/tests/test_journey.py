"""The issue's "done when": three reports, by e-mail (real IMAP), the form and the API,
each acknowledged and triaged; one becomes an advisory crediting its reporter, who is
told when it is published; each reporter's thread shows every step and no internal note."""

from __future__ import annotations

import json

from herald.intake import actions
from herald.intake.imap import ImapSettings, poll
from herald.intake.models import Report
from herald.intake.tests.base import DovecotTestCase, message
from herald.publication import actions as publication
from herald.publication.actions import do_publish_advisory, do_update_advisory

SECRET_NOTE = "Internal: the export service is also reachable from the staging VPN."


class ThreeReportsFromThreeChannels(DovecotTestCase):
    def thread_page(self, report: Report) -> str:
        self.client.logout()
        response = self.client.get(f"/security/reports/{report.token}/")
        assert response.status_code == 200
        return response.content.decode()

    def test_each_channel_arrives_is_triaged_and_one_becomes_a_credited_advisory(self) -> None:
        # 1. The form (no account).
        with self.committing():
            response = self.client.post(
                "/security/report/",
                {
                    "email": "ada@researcher.example",
                    "title": "SQL injection in the export endpoint",
                    "body": "POST /export?id=1' OR 1=1 -- returns every project.",
                    "name": "Ada Lovelace",
                    "handle": "ada",
                    "credit_as": "handle",
                    "credit_type": "FINDER",
                    "website": "",
                },
            )
        self.run_worker()
        form_report = Report.objects.get(source="web")
        assert response.status_code == 302
        assert response["Location"] == f"/security/reports/{form_report.token}/"
        # 2. The API.
        with self.committing():
            response = self.client.post(
                "/api/v1/reports",
                json.dumps(
                    {
                        "email": "grace@researcher.example",
                        "title": "Export leaks rows",
                        "body": "The export returns other tenants' rows.",
                        "name": "Grace",
                    }
                ),
                content_type="application/json",
            )
        self.run_worker()
        assert response.status_code == 201, response.content
        api_report = Report.objects.get(tracking_id=response.json()["tracking_id"])
        assert response.json()["thread_url"].endswith(f"/security/reports/{api_report.token}/")
        # 3. E-mail, fetched from a real IMAP mailbox.
        self.dovecot.deliver(
            message(
                sender="Linus <linus@researcher.example>",
                subject="Open redirect on login",
                body="/login?next=//evil.example redirects away.",
            ).as_bytes()
        )
        with self.committing():
            poll(
                ImapSettings(
                    host="127.0.0.1",
                    port=self.dovecot.port,
                    user=self.dovecot.user,
                    password=self.dovecot.password,
                    tls="none",
                )
            )
        self.run_worker()
        mail_report = Report.objects.get(source="email")

        # Each one is acknowledged by e-mail with its tracking id and private link.
        for report in (form_report, api_report, mail_report):
            [ack] = self.inbox.to(report.reporter.email)
            assert report.tracking_id in ack["Subject"]
            assert f"/security/reports/{report.token}/" in ack.get_content()
            assert report.state == "new" and report.first_response_due > report.created_at

        # Triage.
        with self.committing():
            actions.do_assign_report(form_report, self.bob, acting_user=self.alice)
            actions.do_add_note(form_report, SECRET_NOTE, acting_user=self.bob)
            actions.do_assess_report(
                form_report, "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", acting_user=self.bob
            )
            actions.do_reply_to_reporter(
                form_report, "Thanks, we reproduced it.", acting_user=self.bob
            )
            form_report = publication.do_accept_report(form_report, acting_user=self.bob)
            actions.do_mark_duplicate(api_report, form_report, acting_user=self.bob)
            actions.do_change_state(
                mail_report, "needs_more_info", acting_user=self.bob, message="Which login page?"
            )
        self.run_worker()
        # The e-mail reporter answers by e-mail; it lands on the right report.
        question = self.inbox.to("linus@researcher.example")[-1]
        self.dovecot.deliver(
            message(
                sender="linus@researcher.example",
                to=str(question["Reply-To"]),
                subject=f"Re: {question['Subject']}",
                body="The cloud login at /login.",
                In_Reply_To=str(question["Message-ID"]),
            ).as_bytes()
        )
        with self.committing():
            poll(
                ImapSettings(
                    host="127.0.0.1",
                    port=self.dovecot.port,
                    user=self.dovecot.user,
                    password=self.dovecot.password,
                    tls="none",
                )
            )
            mail_report.refresh_from_db()
            assert mail_report.state == "new"
            actions.do_change_state(mail_report, "informative", acting_user=self.bob)
        self.run_worker()

        # The accepted report became an incident and a draft advisory crediting "ada".
        form_report.refresh_from_db()
        advisory = form_report.advisory
        assert advisory is not None and form_report.incident is not None
        assert advisory.incident == form_report.incident and form_report.incident.is_open
        assert [(c.name, c.type, c.contact) for c in advisory.credits.all()] == [
            ("ada", "FINDER", "")
        ]
        assert advisory.severity == "medium" and advisory.cvss_v3_score is not None
        assert form_report.disclosure_deadline is not None and form_report.accepted_at
        assert (form_report.disclosure_deadline - form_report.accepted_at).days == 90

        # Publishing the advisory tells the reporter, with its public address.
        with self.committing():
            advisory = do_update_advisory(
                advisory,
                acting_user=self.bob,
                description="SQL injection in exports.",
                affected_users="Cloud customers in the US and EU regions.",
            )
            advisory = do_publish_advisory(advisory, acting_user=self.bob)
        self.run_worker()
        told = self.inbox.to("ada@researcher.example")[-1]
        assert advisory.identifier in told.get_content()
        assert f"/security/advisories/{advisory.identifier}/" in told.get_content()

        # Each thread shows every step, and never the internal note.
        page = self.thread_page(form_report)
        for step in (
            "Report received by web form",
            "Thank you for your report",
            "Thanks, we reproduced it.",
            "Status: accepted",
            "Disclosure deadline",
            "credited as ada",
            f"The advisory for your report is published: {advisory.identifier}",
        ):
            assert step in page, step
        assert SECRET_NOTE not in page and "Assigned to" not in page and "CVSS" not in page
        assert form_report.incident.identifier not in page
        assert "duplicate of " + form_report.tracking_id in self.thread_page(api_report)
        mail_page = self.thread_page(mail_report)
        for step in (
            "Report received by e-mail",
            "Which login page?",
            "The cloud login at /login.",
            "Status: informative",
        ):
            assert step in mail_page, step
        # Nor does any e-mail to any reporter carry it.
        assert all(SECRET_NOTE not in m.get_content() for m in self.inbox.messages)
        # The desk sees it all.
        self.login(self.bob)
        desk = self.client.get(f"/desk/reports/{form_report.tracking_id}/").content.decode()
        assert SECRET_NOTE in desk and advisory.identifier in desk
