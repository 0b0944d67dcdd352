"""The ``cve`` delivery kind: the delivery worker sends CVE records with it.

Registered with notify's engine (``herald.notify.channels.register``) when the app
loads. A row (written by ``herald.cna.actions.fanout_cve_records``) carries the CVE
id and the CNA container of one revision; sending it is one request:

- publish: ``POST /cve/{id}/cna`` the first time, ``PUT /cve/{id}/cna`` once an
  earlier row created the record;
- reject: ``POST /cve/{id}/reject`` for an id never published, else
  ``PUT /cve/{id}/reject``.

Rows for one record go in order: a row waits (looked at again when the earlier
row is due, the wait not counted as a try) while an earlier row for the same id
is still to be sent; a dead earlier row no longer holds it
back, and the next row sends the whole container again.

Answers: 2xx is sent (the row keeps the method, path and the record's state);
401/403 (credentials), 400 (invalid container), 404 (unknown id or not this
CNA's) and a container cvelib's schema check refuses are permanent: the row is
dead at once, with the reason in plain words. 429, 5xx, a timeout or a refused
connection are transient: retried with the engine's backoff, or at the time the
answer's Retry-After gives. Credentials come from the settings when the row is
sent; none is ever stored on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from django.utils import timezone

from herald.cna import client as cve_client
from herald.cna.queries import earlier_unfinished, later_sent, record_exists
from herald.notify.channels import (
    Envelope,
    PermanentError,
    TransientError,
    Waiting,
    register,
)

# CVE Services' error codes (cvelib's CveApi.Errors).
RECORD_EXISTS = str(cve_client.HeraldCveApi.Errors.RECORD_EXISTS)
RECORD_DNE = str(cve_client.HeraldCveApi.Errors.RECORD_DOES_NOT_EXIST)


@dataclass(frozen=True)
class CveSenderConfig:
    services: cve_client.CveServicesConfig


class CveSession:
    def __init__(self, config: CveSenderConfig) -> None:
        self.config = config

    def send(self, envelope: Envelope) -> str:
        cfg = self.config.services
        if not cfg.configured:
            raise TransientError(cfg.not_configured_message())
        data = envelope.message.data
        cve_id = str(data.get("cve_id") or envelope.recipient)
        action = str(data.get("action") or "publish")
        container: dict[str, Any] = dict(data.get("container") or {})
        newer = later_sent(cve_id, after=envelope.delivery_id)
        if newer is not None:
            # Re-driven after a later revision went out: sending would put the older
            # record back. Nothing is sent; the row says why.
            return (
                f"not sent: CVE Services already holds the newer record of {cve_id} "
                f"(delivery {newer.pk})"
            )
        earlier = earlier_unfinished(cve_id, before=envelope.delivery_id)
        if earlier is not None:
            # Not a try: it is not counted, so waiting never makes this row dead.
            due = (earlier.next_attempt_at - timezone.now()).total_seconds()
            raise Waiting(
                f"Waits for the earlier request for {cve_id} (delivery {earlier.pk}) to be sent "
                "first.",
                retry_after=max(due, 0.0) + 1,
            )
        exists = record_exists(cve_id, before=envelope.delivery_id)
        api = cve_client.HeraldCveApi(cfg)
        if action == "reject":
            method, path = ("PUT" if exists else "POST"), f"/cve/{cve_id}/reject"
            call = api.update_rejected if exists else api.reject
        else:
            method, path = ("PUT" if exists else "POST"), f"/cve/{cve_id}/cna"
            call = api.update_published if exists else api.publish
        try:
            try:
                answer = call(cve_id, container)
            except cve_client.CveServicesError as exc:
                # The record exists already (published with another tool), or not
                # (an earlier row's record was never made): the other method then.
                code = exc.body.get("error") if isinstance(exc.body, dict) else None
                if code == RECORD_EXISTS and method == "POST":
                    method = "PUT"
                    call = api.update_rejected if action == "reject" else api.update_published
                elif code == RECORD_DNE and method == "PUT":
                    method = "POST"
                    call = api.reject if action == "reject" else api.publish
                else:
                    raise
                answer = call(cve_id, container)
        except ValueError:
            # A success whose body is not JSON: the record was taken; nothing to read.
            return f"{method} {path}: accepted (the answer was not JSON)"
        except cve_client.CveRecordValidationError as exc:
            first = str(exc).splitlines()[1:2] or [""]
            raise PermanentError(
                f"The CVE container for {cve_id} is invalid, CVE Services would refuse it: "
                f"{first[0][:300]}"
            ) from None
        except cve_client.CveServicesError as exc:
            text = f"{method} {path}: {exc}"
            if exc.transient:
                raise TransientError(text, retry_after=exc.retry_after) from None
            raise PermanentError(text) from None
        return _summary(method, path, answer)

    def close(self) -> None:
        pass


def _summary(method: str, path: str, answer: Any) -> str:
    """The answer kept on the row: what was done, and the record's state there."""
    state = ""
    message = ""
    if isinstance(answer, dict):
        message = str(answer.get("message") or "")
        record = answer.get("created") or answer.get("updated") or {}
        if isinstance(record, dict):
            state = str((record.get("cveMetadata") or {}).get("state") or "")
    parts = [f"{method} {path}: accepted"]
    if state:
        parts.append(f"record {state}")
    if message:
        parts.append(message)
    return "; ".join(parts)[:500]


class CveKind:
    kind: ClassVar[str] = "cve"
    overlapping: ClassVar[bool] = False

    def recipients(self, config: CveSenderConfig, key: str) -> list[tuple[str, str]]:
        return []  # rows are written by herald.cna.actions, never for a channel

    def parse_config(self, config: dict[str, Any]) -> CveSenderConfig:
        return CveSenderConfig(services=cve_client.config())

    def open(self, config: CveSenderConfig) -> CveSession:
        return CveSession(config)


register(CveKind())
