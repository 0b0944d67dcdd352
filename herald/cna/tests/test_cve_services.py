"""CVE Services from the desk and the CLI, against a loopback peer that holds every
request to CVE Services' own OpenAPI description (../shared/specs/cve-services)."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cvelib
import pytest
from django.apps import apps
from django.core import serializers
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings
from django.utils import timezone

from herald.advisories.models import Advisory
from herald.audit.models import AuditEvent
from herald.cna.models import CveId
from herald.cna.queries import cve_status, unused_reserved_ids
from herald.notify import delivery
from herald.notify.actions import do_redrive
from herald.notify.models import Delivery
from herald.notify.tests.peers import free_port
from herald.publication.actions import do_update_advisory, do_withdraw_advisory
from herald.test import HeraldTestCase, shared_path
from herald.test_openapi import OpenAPIPeer, file_loader

KEY = "k3y-0f-the-cna-7c1f9e0a5b"  # the API key: must appear in no stored text
ORG_ID = "b3476cb9-2e3d-41a6-98d0-0f47421a65b6"
USER = "herald@northwind.example"
# CVE Services sits behind a rate limiter and a gateway that answer 429 and 503 for
# every operation, though the document lists 429 only for two GETs.
GATEWAY = {429, 502, 503, 504}


def cna_settings(url: str, **extra: Any) -> override_settings:
    values: dict[str, Any] = {
        "HERALD_CVE_API_URL": url,
        "HERALD_CVE_API_USER": USER,
        "HERALD_CVE_API_KEY": KEY,
        "HERALD_CNA_SHORT_NAME": "northwind",
        "HERALD_CNA_ORG_ID": ORG_ID,
        "HERALD_HTTP_ALLOW_NETWORKS": "127.0.0.0/8",
        "HERALD_NOTIFY_RETRY_DELAYS": "60,300",
    }
    return override_settings(**{**values, **extra})


def cve5_definition(name: str) -> Any:
    """A definition of the CVE JSON 5 schema (cvelib bundles the CVE Program's copy)."""
    path = next((Path(cvelib.__file__).parent / "schemas").glob("CVE_JSON_bundled_*.json"))
    return json.loads(path.read_text())["definitions"][name]


def api_doc_loader(uri: str) -> Any:
    """The API document's schema files, with one erratum.

    Its copy of the CVE record schema lost ``tagExtension``'s ``pattern`` (``^x_``):
    every reference tag then matches both branches of the tags' ``oneOf``, and no
    container with a tag would pass. CVE Services validates with the CVE JSON 5
    schema; this puts back that schema's definition, and nothing else.
    """
    contents = file_loader(uri)
    definitions = contents.get("definitions") if isinstance(contents, dict) else None
    if isinstance(definitions, dict) and definitions.get("tagExtension") == {"type": "string"}:
        definitions["tagExtension"] = cve5_definition("tagExtension")
    return contents


@contextmanager
def cve_services() -> Iterator[OpenAPIPeer]:
    spec = shared_path("specs", "cve-services", "api-docs", "openapi.json")
    with OpenAPIPeer.from_file(
        spec, base_path="/api", gateway_statuses=GATEWAY, loader=api_doc_loader
    ) as peer:
        yield peer


def reserved_answer(*ids: str) -> dict[str, Any]:
    return {
        "cve_ids": [
            {"cve_id": cve, "cve_year": cve[4:8], "owning_cna": "northwind", "state": "RESERVED",
             "requested_by": {"cna": "northwind", "user": USER},
             "reserved": "2026-12-07T22:00:00.000Z"}
            for cve in ids
        ]
    }  # fmt: skip


def record_answer(cve_id: str, state: str, verb: str = "created") -> dict[str, Any]:
    return {
        "message": f"{cve_id} record was successfully {verb}.",
        verb: {"cveMetadata": {"cveId": cve_id, "state": state, "assignerOrgId": ORG_ID}},
    }


def drain() -> dict[str, int]:
    return delivery.drain(seconds=10, sessions=1, senders=1)


def make_due() -> None:
    """Time passes: every retry is due now (the test does not wait an hour)."""
    Delivery.objects.filter(status=Delivery.Status.FAILED).update(next_attempt_at=timezone.now())


def stored_text() -> str:
    """Every row of every table, as text: where a leaked secret would be."""
    return "".join(
        serializers.serialize("json", model._default_manager.all())
        for model in apps.get_models()
        if model._meta.managed
    )


class CveServicesTests(HeraldTestCase):
    def reserve(self, peer: OpenAPIPeer, *ids: str) -> str:
        peer.respond("cveIdReserve", status=200, body=reserved_answer(*ids))
        out = io.StringIO()
        call_command(
            "cve", "reserve", "--amount", str(len(ids)), "--year", "2026", "--json",
            "--as", "alice", stdout=out,
        )  # fmt: skip
        return out.getvalue()

    def test_reserve_keeps_the_ids_audited_and_the_editor_offers_them(self) -> None:
        with cve_services() as peer, cna_settings(peer.url):
            out = self.reserve(peer, "CVE-2026-50001", "CVE-2026-50002")
        peer.assert_clean()
        assert json.loads(out) == {
            "reserved": ["CVE-2026-50001", "CVE-2026-50002"], "partial": False,
        }  # fmt: skip
        sent = peer.requests_to("cveIdReserve")[0]
        assert sent.query == {
            "amount": ["2"], "cve_year": ["2026"], "short_name": ["northwind"],
            "batch_type": ["sequential"],
        }  # fmt: skip
        assert sent.header("CVE-API-KEY") == KEY and sent.header("CVE-API-USER") == USER
        assert list(CveId.objects.values_list("cve_id", "state", "reserved_by")) == [
            ("CVE-2026-50001", "RESERVED", "alice"), ("CVE-2026-50002", "RESERVED", "alice"),
        ]  # fmt: skip
        event = AuditEvent.objects.filter(action="cve.reserved").get()
        assert (event.after or {})["reserved"] == ["CVE-2026-50001", "CVE-2026-50002"]
        # The editor offers what no advisory uses yet.
        self.draft(cve_ids=["CVE-2026-50001"])
        assert unused_reserved_ids() == ["CVE-2026-50002"]
        client = Client()
        client.force_login(self.bob)  # type: ignore[arg-type]
        page = client.get("/desk/advisories/new/").content.decode()
        assert 'list="reserved-cve-ids"' in page
        assert '<option value="CVE-2026-50002">' in page
        assert '<option value="CVE-2026-50001">' not in page
        assert KEY not in stored_text()

    def test_the_publish_and_withdraw_pages_say_what_goes_to_cve_services(self) -> None:
        client = Client()
        client.force_login(self.bob)  # type: ignore[arg-type]
        with cve_services() as peer, cna_settings(peer.url):
            self.reserve(peer, "CVE-2026-50003", "CVE-2026-50005")
            draft = self.draft(cve_ids=["CVE-2026-50003", "CVE-2026-50004"])
            page = client.get(f"/desk/advisories/{draft.identifier}/publish/").content.decode()
            assert "CVE Services: the record of CVE-2026-50003 is published by the worker" in page
            assert "CVE Services: nothing is sent for CVE-2026-50004" in page
            published = self.published(cve_ids=["CVE-2026-50005"])
            page = client.get(f"/desk/advisories/{published.identifier}/withdraw/").content.decode()
            assert "the record of CVE-2026-50005 is rejected by the worker" in page

    def test_unconfigured_says_so_in_plain_words(self) -> None:
        err = io.StringIO()
        with override_settings(HERALD_CVE_API_USER="", HERALD_CVE_API_KEY=""):
            with pytest.raises(CommandError):
                call_command("cve", "reserve", stderr=err)
            # and a publication sends nothing there, and says so where the responder looks
            advisory = self.published()
            [status] = cve_status(advisory)
            out = io.StringIO()
            call_command("cve", "status", advisory.identifier, stdout=out)
        assert status.summary.startswith("CVE Services is not configured: set HERALD_CVE_API_USER")
        assert "Herald sends no CVE record" in out.getvalue()
        assert "Herald sends no CVE record" in self.desk_page(advisory)
        assert err.getvalue().strip() == (
            "error: CVE Services is not configured: set HERALD_CVE_API_USER, "
            "HERALD_CVE_API_KEY, HERALD_CNA_SHORT_NAME, HERALD_CNA_ORG_ID "
            "(docs/cve-services.md)."
        )
        assert advisory.state == "published"
        assert not Delivery.objects.filter(kind="cve").exists()

    def test_publish_posts_revise_puts_withdraw_rejects_in_order(self) -> None:
        cve = "CVE-2026-50010"
        with cve_services() as peer, cna_settings(peer.url):
            self.reserve(peer, cve)
            advisory = self.published(cve_ids=[cve])
            # The publication only wrote the row: nothing was sent yet.
            assert [r.operation_id for r in peer.requests] == ["cveIdReserve"]
            row = Delivery.objects.get(kind="cve")
            assert (row.recipient, row.status) == (cve, "pending")
            peer.respond("cveCnaCreateSingle", body=record_answer(cve, "PUBLISHED"))
            assert drain()["sent"] == 1
            listed = io.StringIO()
            call_command("cve", "list", stdout=listed)
            assert listed.getvalue().split("\t")[:2] == [cve, "PUBLISHED"]
            advisory = Advisory.objects.get(pk=advisory.pk)
            do_update_advisory(
                advisory, acting_user=self.bob, change_summary="Clarified the impact.",
                summary="Scripts in dashboard names ran for viewers.",
            )  # fmt: skip
            peer.respond("cveCnaUpdateSingle", body=record_answer(cve, "PUBLISHED", "updated"))
            assert drain()["sent"] == 1
            advisory = Advisory.objects.get(pk=advisory.pk)
            do_withdraw_advisory(advisory, acting_user=self.bob, reason="Not a vulnerability.")
            peer.respond("cveCnaUpdateReject", body=record_answer(cve, "REJECTED", "updated"))
            assert drain()["sent"] == 1
            out = io.StringIO()
            call_command("cve", "status", advisory.identifier, stdout=out)
        peer.assert_clean()
        assert [(r.method, r.path) for r in peer.requests[1:]] == [
            ("POST", f"/api/cve/{cve}/cna"),
            ("PUT", f"/api/cve/{cve}/cna"),
            ("PUT", f"/api/cve/{cve}/reject"),
        ]
        first, second, third = peer.requests[1:]
        container = first.json["cnaContainer"]
        assert container["providerMetadata"]["orgId"] == ORG_ID
        assert container["descriptions"][0]["value"].startswith("A dashboard name")
        assert second.json["cnaContainer"]["descriptions"] == container["descriptions"]
        assert third.json["cnaContainer"]["rejectedReasons"][0]["value"] == ("Not a vulnerability.")
        rows = Delivery.objects.filter(kind="cve").order_by("id")
        assert [r.message.subject.split()[0] for r in rows] == ["Publish", "Update", "Reject"]
        assert [r.response for r in rows] == [
            f"POST /cve/{cve}/cna: accepted; record PUBLISHED; {cve} record was successfully "
            "created.",
            f"PUT /cve/{cve}/cna: accepted; record PUBLISHED; {cve} record was successfully "
            "updated.",
            f"PUT /cve/{cve}/reject: accepted; record REJECTED; {cve} record was successfully "
            "updated.",
        ]
        assert out.getvalue().splitlines()[0] == f"{cve}\tREJECTED\tRejected at CVE Services."
        listed = io.StringIO()
        call_command("cve", "list", "--json", stdout=listed)
        assert [(r["cve_id"], r["state"]) for r in json.loads(listed.getvalue())] == [
            (cve, "REJECTED")
        ]

    def test_an_id_another_cna_assigned_is_not_sent(self) -> None:
        with cve_services() as peer, cna_settings(peer.url):
            advisory = self.published(cve_ids=["CVE-2023-46746"])  # GitHub's CNA assigned it
            [status] = cve_status(advisory)
        assert not Delivery.objects.filter(kind="cve").exists()
        assert peer.requests == []
        assert not status.ours and "did not reserve it" in status.summary

    def test_503_with_retry_after_then_success(self) -> None:
        cve = "CVE-2026-50020"
        with cve_services() as peer, cna_settings(peer.url):
            self.reserve(peer, cve)
            self.published(cve_ids=[cve])
            peer.respond(
                "cveCnaCreateSingle", status=503, body={"error": "SERVICE_UNAVAILABLE"},
                headers={"Retry-After": "900"},
            )  # fmt: skip
            peer.respond("cveCnaCreateSingle", body=record_answer(cve, "PUBLISHED"))
            before = timezone.now()
            assert drain()["failed"] == 1
            row = Delivery.objects.get(kind="cve")
            # Retry-After (900 s), not the backoff's first step (60 s).
            assert row.status == "failed"
            assert dt.timedelta(seconds=890) < row.next_attempt_at - before
            assert row.next_attempt_at - before < dt.timedelta(seconds=910)
            assert "CVE Services is unavailable (HTTP 503)" in row.last_error
            assert drain()["sent"] == 0  # not due before the time it asked for
            make_due()
            assert drain()["sent"] == 1
        peer.assert_clean()
        assert len(peer.requests_to("cveCnaCreateSingle")) == 2

    def test_429_is_retried_when_the_rate_limit_resets(self) -> None:
        cve = "CVE-2026-50030"
        with cve_services() as peer, cna_settings(peer.url):
            self.reserve(peer, cve)
            self.published(cve_ids=[cve])
            peer.respond(
                "cveCnaCreateSingle", status=429,
                body={"error": "TOO_MANY_REQUESTS", "message": "Rate limit exceeded."},
                headers={"RateLimit-Limit": "1000", "RateLimit-Remaining": "0",
                         "RateLimit-Reset": "240"},
            )  # fmt: skip
            before = timezone.now()
            assert drain()["failed"] == 1
        peer.assert_clean()
        row = Delivery.objects.get(kind="cve")
        assert row.status == "failed"
        assert "limiting requests (HTTP 429" in row.last_error
        assert "Rate limit exceeded." in row.last_error
        # When CVE Services' RateLimit-Reset says (240 s), not the backoff's first step (60 s).
        wait = row.next_attempt_at - before
        assert dt.timedelta(seconds=235) < wait < dt.timedelta(seconds=245)

    def test_401_is_dead_with_plain_words_and_the_key_is_nowhere(self) -> None:
        cve = "CVE-2026-50040"
        with cve_services() as peer, cna_settings(peer.url):
            self.reserve(peer, cve)
            advisory = self.published(cve_ids=[cve])
            peer.respond(
                "cveCnaCreateSingle", status=401,
                body={"error": "UNAUTHORIZED", "message": "Unauthorized"},
            )  # fmt: skip
            with self.assertLogs("herald", level="DEBUG") as logs:
                import logging

                logging.getLogger("herald.cna").debug("drain")
                assert drain()["dead"] == 1
            [status] = cve_status(advisory)
            page = self.desk_page(advisory)
        peer.assert_clean()
        row = Delivery.objects.get(kind="cve")
        assert row.status == "dead" and row.attempts == 1
        assert row.last_error == (
            f"POST /cve/{cve}/cna: CVE Services refused Herald's credentials (HTTP 401): check "
            "HERALD_CVE_API_USER, HERALD_CVE_API_KEY and HERALD_CNA_SHORT_NAME, and that the "
            "account may do this for the organisation. CVE Services said: Unauthorized"
        )
        assert status.summary.startswith("Not sent, Herald gave up: POST")
        assert f"herald deliveries redrive {row.pk}" in status.summary
        assert "refused Herald&#x27;s credentials" in page
        assert KEY not in stored_text()
        assert KEY not in "\n".join(logs.output)
        # A person sees it without opening the advisory: the dashboard and `herald status`.
        client = Client()
        client.force_login(self.bob)  # type: ignore[arg-type]
        dashboard = client.get("/desk/").content.decode()
        assert "Given up, waiting for a person" in dashboard
        assert f'href="/desk/notify/deliveries/{row.pk}/"' in dashboard
        out = io.StringIO()
        with pytest.raises(SystemExit):  # no worker runs here: not ready, said as before
            call_command("status", stdout=out)
        assert "Needs a person: 1 delivery(ies) given up (1 CVE Services)." in out.getvalue()
        Delivery.objects.filter(pk=row.pk).update(status=Delivery.Status.PENDING)
        assert "Given up" not in client.get("/desk/").content.decode()

    def test_an_old_row_re_driven_after_a_newer_one_went_out_sends_nothing(self) -> None:
        cve = "CVE-2026-50045"
        with cve_services() as peer, cna_settings(peer.url):
            self.reserve(peer, cve)
            advisory = self.published(cve_ids=[cve])
            peer.respond(
                "cveCnaCreateSingle", status=401,
                body={"error": "UNAUTHORIZED", "message": "Unauthorized"},
            )  # fmt: skip
            assert drain()["dead"] == 1
            do_update_advisory(
                Advisory.objects.get(pk=advisory.pk), acting_user=self.bob,
                change_summary="Clarified the impact.", summary="Scripts in names ran.",
            )  # fmt: skip
            peer.respond("cveCnaCreateSingle", body=record_answer(cve, "PUBLISHED"))
            assert drain()["sent"] == 1
            old, new = Delivery.objects.filter(kind="cve").order_by("id")
            sent = len(peer.requests)
            # The old revision's row, re-driven: CVE Services keeps the newer record.
            do_redrive([old], acting_user=self.bob)
            assert drain()["sent"] == 1
            assert len(peer.requests) == sent
            [status] = cve_status(advisory)
        peer.assert_clean()
        old.refresh_from_db()
        assert old.response == (
            f"not sent: CVE Services already holds the newer record of {cve} (delivery {new.pk})"
        )
        assert status.last_answer.startswith(f"POST /cve/{cve}/cna: accepted")

    def test_an_invalid_container_is_dead_naming_the_problem(self) -> None:
        cve = "CVE-2026-50050"
        with cve_services() as peer, cna_settings(peer.url):
            self.reserve(peer, cve)
            self.published(cve_ids=[cve])
            peer.respond(
                "cveCnaCreateSingle", status=400,
                body={"error": "BAD_INPUT", "message": "Parameters were invalid",
                      "details": [{"msg": "Invalid value", "param": "cnaContainer",
                                   "location": "body"}]},
            )  # fmt: skip
            assert drain()["dead"] == 1
        peer.assert_clean()
        row = Delivery.objects.get(kind="cve")
        assert "refused the request as invalid (HTTP 400)" in row.last_error
        assert "cnaContainer: Invalid value" in row.last_error

    def test_cve_services_down_loses_nothing_and_blocks_no_publication(self) -> None:
        cve = "CVE-2026-50060"
        with cve_services() as peer, cna_settings(peer.url):
            self.reserve(peer, cve)
        closed = f"http://127.0.0.1:{free_port()}/api"
        with cna_settings(closed):
            advisory = self.published(cve_ids=[cve])
            assert advisory.state == "published"  # the publication did not wait
            assert drain()["failed"] == 1
            [status] = cve_status(advisory)
            page = self.desk_page(advisory)
            out = io.StringIO()
            call_command("cve", "status", advisory.identifier, stdout=out)
        assert status.pending and status.state == "RESERVED"
        assert status.summary.startswith("Pending: the publication waits to be sent. Last try: ")
        assert "CVE Services did not answer" in status.summary
        assert "Next try at" in status.summary
        assert "Pending: the publication waits to be sent." in page
        assert "CVE Services did not answer" in out.getvalue()
        # Back up (at a new address, as a test can only do): the same row is sent.
        with cve_services() as peer, cna_settings(peer.url):
            peer.respond("cveCnaCreateSingle", body=record_answer(cve, "PUBLISHED"))
            make_due()
            assert drain()["sent"] == 1
        peer.assert_clean()
        assert [r.operation_id for r in peer.requests] == ["cveCnaCreateSingle"]
        assert Delivery.objects.get(kind="cve").attempts == 2

    def test_rows_for_one_record_go_in_order_after_an_outage(self) -> None:
        cve = "CVE-2026-50080"
        with cve_services() as peer, cna_settings(peer.url):
            self.reserve(peer, cve)
        closed = f"http://127.0.0.1:{free_port()}/api"
        with cna_settings(closed):
            advisory = self.published(cve_ids=[cve])
            assert drain()["failed"] == 1
            do_update_advisory(
                Advisory.objects.get(pk=advisory.pk), acting_user=self.bob,
                change_summary="Clarified the impact.", summary="Scripts ran for viewers.",
            )  # fmt: skip
        with cve_services() as peer, cna_settings(peer.url):
            peer.respond("cveCnaCreateSingle", body=record_answer(cve, "PUBLISHED"))
            peer.respond("cveCnaUpdateSingle", body=record_answer(cve, "PUBLISHED", "updated"))
            make_due()
            assert drain()["sent"] == 2
        peer.assert_clean()
        assert [(r.method, r.json["cnaContainer"].get("title")) for r in peer.requests] == [
            ("POST", "Stored XSS in dashboard names"),
            ("PUT", "Stored XSS in dashboard names"),
        ]

    def test_a_later_row_waits_for_an_earlier_one_still_to_be_sent(self) -> None:
        cve = "CVE-2026-50085"
        with cve_services() as peer, cna_settings(peer.url):
            self.reserve(peer, cve)
            advisory = self.published(cve_ids=[cve])
            peer.respond("cveCnaCreateSingle", status=503, headers={"Retry-After": "900"})
            assert drain()["failed"] == 1
            do_update_advisory(
                Advisory.objects.get(pk=advisory.pk), acting_user=self.bob,
                change_summary="Clarified the impact.", summary="Scripts ran for viewers.",
            )  # fmt: skip
            assert drain()["failed"] == 1  # the update's row: not before the first one
            first, second = Delivery.objects.filter(kind="cve").order_by("id")
            assert second.last_error == (
                f"Waits for the earlier request for {cve} (delivery {first.pk}) to be sent first."
            )
            # Waiting is not a try: however long the first row takes, the second is never
            # dead for it, and it is looked at again when the first is due, not before.
            assert second.attempts == 0 and second.status == Delivery.Status.FAILED
            assert second.next_attempt_at > first.next_attempt_at
            assert [a.outcome for a in second.history.all()] == ["waiting"]
            peer.respond("cveCnaCreateSingle", body=record_answer(cve, "PUBLISHED"))
            peer.respond("cveCnaUpdateSingle", body=record_answer(cve, "PUBLISHED", "updated"))
            make_due()
            assert drain()["sent"] == 2
        peer.assert_clean()
        assert [r.method for r in peer.requests[1:]] == ["POST", "POST", "PUT"]

    def test_a_record_published_with_another_tool_is_updated_instead(self) -> None:
        cve = "CVE-2026-50090"
        with cve_services() as peer, cna_settings(peer.url):
            self.reserve(peer, cve)
            self.published(cve_ids=[cve])
            peer.respond(
                "cveCnaCreateSingle", status=403,
                body={"error": "CVE_RECORD_EXISTS", "message": "The CVE Record already exists."},
            )  # fmt: skip
            peer.respond("cveCnaUpdateSingle", body=record_answer(cve, "PUBLISHED", "updated"))
            assert drain()["sent"] == 1
        peer.assert_clean()
        assert [r.method for r in peer.requests[1:]] == ["POST", "PUT"]
        assert Delivery.objects.get(kind="cve").response.startswith(f"PUT /cve/{cve}/cna")

    def test_status_refresh_asks_cve_services(self) -> None:
        cve = "CVE-2026-50070"
        with cve_services() as peer, cna_settings(peer.url):
            self.reserve(peer, cve)
            advisory = self.published(cve_ids=[cve])
            peer.respond(
                "cveGetSingle",
                body={"dataType": "CVE_RECORD", "dataVersion": "5.1",
                      "cveMetadata": {"cveId": cve, "state": "PUBLISHED",
                                      "dateUpdated": "2026-12-07T22:10:00.000Z"},
                      "containers": {"cna": {"descriptions": [{"lang": "en", "value": "x"}]}}},
            )  # fmt: skip
            out = io.StringIO()
            call_command("cve", "status", advisory.identifier, "--refresh", stdout=out)
        peer.assert_clean()
        assert "  CVE Services now: PUBLISHED, updated 2026-12-07T22:10:00.000Z" in out.getvalue()

    def desk_page(self, advisory: Advisory) -> str:
        client = Client()
        client.force_login(self.bob)  # type: ignore[arg-type]
        response = client.get(f"/desk/advisories/{advisory.identifier}/")
        assert response.status_code == 200
        html = response.content.decode()
        start = html.index('<section id="cve-services"')
        return html[start : html.index("</section>", start)]
