"""A transport is a plug-in: the delivery engine drives any registered kind the same way.

E-mail is one kind among others behind ``ChannelKind``; these fakes, registered
as the built-in kinds are, go through the actions, the outbox rows and the
engine end to end, which only holds while the engine has no branch of its own
for e-mail.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from herald.core.errors import ValidationError
from herald.notify import actions, delivery
from herald.notify.channels import KINDS, Envelope, PermanentError, TransientError, register
from herald.notify.models import Delivery
from herald.test import HeraldTestCase


@dataclass(frozen=True)
class PigeonConfig:
    loft: str


class PigeonSession:
    def __init__(self, kind: Pigeon, config: PigeonConfig) -> None:
        self.kind, self.config = kind, config

    def send(self, envelope: Envelope) -> str:
        if self.kind.failure is not None:
            raise self.kind.failure
        self.kind.sent.append((envelope.recipient, envelope.message.subject))
        return f"landed at {self.config.loft}"

    def close(self) -> None:
        pass


class Pigeon:
    """A one-message-at-a-time transport."""

    kind: ClassVar[str] = "pigeon"
    overlapping: ClassVar[bool] = False

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.failure: Exception | None = None

    def parse_config(self, config: dict[str, Any]) -> PigeonConfig:
        if not config.get("loft"):
            raise ValidationError({"loft": "Name the loft."})
        return PigeonConfig(loft=str(config["loft"]))

    def recipients(self, config: PigeonConfig, key: str) -> list[tuple[str, str]]:
        return [(config.loft, key)]

    def open(self, config: PigeonConfig) -> PigeonSession:
        return PigeonSession(self, config)


class SemaphoreSession(PigeonSession):
    """Overlapping: begin, then the verdict is known without a socket to wait on."""

    timeout = 1.0

    def send(self, envelope: Envelope) -> str:
        # The engine drives an overlapping kind over lanes, whatever its name:
        # were it to keep that for e-mail alone, this kind would end up here.
        raise AssertionError("an overlapping session is driven by begin and finish")

    def begin(self, envelope: Envelope, upcoming: Envelope | None = None) -> None:
        self.verdict = PigeonSession.send(self, envelope)

    def finish(self) -> str:
        return self.verdict

    def awaited_socket(self) -> Any:
        return None

    def abandon(self) -> None:
        pass


class Semaphore(Pigeon):
    kind: ClassVar[str] = "semaphore"
    overlapping: ClassVar[bool] = True

    def open(self, config: PigeonConfig) -> SemaphoreSession:
        return SemaphoreSession(self, config)


@contextmanager
def registered(plugin: Pigeon) -> Iterator[Pigeon]:
    register(plugin)
    try:
        yield plugin
    finally:
        KINDS.pop(plugin.kind, None)


class TransportPluginTests(HeraldTestCase):
    def send_test(self, kind: str) -> Delivery:
        channel = actions.do_create_channel(
            name=f"{kind}-loft", kind=kind, config={"loft": "north"}, acting_user=self.alice
        )
        actions.do_send_test_message(channel, acting_user=self.alice)
        delivery.drain(seconds=5, sessions=2, senders=1)
        return Delivery.objects.get(channel=channel)

    def test_a_registered_transport_is_sent_through_the_engine_like_email(self) -> None:
        for plugin in (Pigeon(), Semaphore()):
            with registered(plugin):
                row = self.send_test(plugin.kind)
            assert row.status == "sent" and row.response == "landed at north", plugin.kind
            assert plugin.sent == [("north", row.message.subject)]

    def test_a_transports_errors_are_retried_or_dead_as_for_email(self) -> None:
        with registered(Pigeon()) as plugin:
            plugin.failure = TransientError("storm")
            row = self.send_test("pigeon")
            assert row.status == "failed" and row.last_error == "storm"
            plugin.failure = PermanentError("no such loft")
            Delivery.objects.filter(pk=row.pk).update(next_attempt_at=row.created_at)
            delivery.drain(seconds=5, sessions=1, senders=1)
        row.refresh_from_db()
        assert row.status == "dead" and row.last_error == "no such loft"

    def test_an_unregistered_kind_is_refused_by_name(self) -> None:
        with pytest.raises(ValidationError) as refused:
            actions.do_create_channel(name="owl", kind="owl", config={}, acting_user=self.alice)
        assert "kind" in refused.value.message_dict
