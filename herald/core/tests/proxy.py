"""A TCP proxy on loopback that a test can cut and restore: a real network outage.

Processes pointed at the proxy instead of PostgreSQL lose the database when the
test calls ``cut()`` (open connections are reset, new ones refused) and get it
back on ``restore()``, exactly as during a PostgreSQL restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator


class TCPProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        with socket.socket() as probe:  # a free port, kept for cut and restore
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    def __enter__(self) -> TCPProxy:
        self.thread.start()
        self.restore()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cut()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)

    def _call(self, coroutine: object) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)  # type: ignore[arg-type]

    def restore(self) -> None:
        """Listen again: new connections reach the database."""
        self._call(self._listen())

    def cut(self) -> None:
        """Stop listening and reset every open connection."""
        self._call(self._cut())

    async def _listen(self) -> None:
        if self.server is None:
            self.server = await asyncio.start_server(
                self._handle, "127.0.0.1", self.port, reuse_address=True
            )

    async def _cut(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in list(self.writers):
            transport = writer.transport
            if isinstance(transport, asyncio.Transport):
                transport.abort()
        self.writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        self.writers.update((writer, up_writer))

        async def pump(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await source.read(65536):
                    target.write(data)
                    await target.drain()
            with contextlib.suppress(OSError, RuntimeError):
                target.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        self.writers.difference_update((writer, up_writer))


@contextlib.contextmanager
def proxy_to(host: str, port: int) -> Iterator[TCPProxy]:
    with TCPProxy(host, port) as proxy:
        yield proxy
