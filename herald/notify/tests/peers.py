"""Real peers on loopback for the notification tests: an SMTP server and an HTTP receiver.

The SMTP server is aiosmtpd, advertising PIPELINING unless told not to; its
handler can refuse chosen recipients (550 or 451) and can hold messages at a
gate so a test can kill a worker while it waits for the server's answer. The
HTTP receiver is the standard library's server and verifies webhook signatures
as a real receiver would.
"""

from __future__ import annotations

import email
import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SMTPSink:
    """What the SMTP server received, and how it should answer."""

    messages: list[Message] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> SMTP reply
    gate: threading.Event | None = None  # when set, messages beyond `hold_after` wait
    hold_after: int = 0
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0
    # Advertise PIPELINING (RFC 2920) as production servers do, so the client's
    # pipelined path is the one tested; False tests its one-command-at-a-time path.
    pipelining: bool = True

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str,
        responses: list[str],
    ) -> list[str]:  # fmt: skip
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        reply = self.refuse.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay:
            import asyncio

            await asyncio.sleep(self.delay)
        if self.gate is not None and not self.gate.is_set():
            with self.lock:
                held = len(self.messages) >= self.hold_after
            if held:
                import asyncio

                while not self.gate.is_set():
                    await asyncio.sleep(0.01)
                # The client is gone by now (killed): the message is not accepted.
                return "451 try again later"
        parsed = email.message_from_bytes(bytes(envelope.content or b""))  # type: ignore[arg-type]
        with self.lock:
            self.messages.append(parsed)
        return "250 Message accepted"

    def by_message_id(self) -> Counter[str]:
        with self.lock:
            return Counter(str(m["Message-ID"]) for m in self.messages)

    def count(self) -> int:
        with self.lock:
            return len(self.messages)


@contextmanager
def smtp_server(**kwargs: Any) -> Iterator[SMTPSink]:
    sink = SMTPSink(**kwargs)
    sink.port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        if sink.gate is not None:
            sink.gate.set()
        controller.stop()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HTTPReceiver:
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    reply: bytes = b"ok"
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@contextmanager
def http_receiver(status: int = 200) -> Iterator[HTTPReceiver]:
    receiver = HTTPReceiver(status=status)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            receiver.requests.append(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            self.send_response(receiver.status)
            self.send_header("Content-Length", str(len(receiver.reply)))
            self.end_headers()
            self.wfile.write(receiver.reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
