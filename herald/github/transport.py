"""githubkit's requests, sent through Herald's one HTTP wrapper (``herald.core.http``).

githubkit builds every request with httpx and lets the caller give the httpx
transport (``GitHub(..., transport=...)``): the one seam where the request is a
plain method, URL, headers and body and the answer is a status, headers and
bytes. ``HeraldTransport`` is that seam: it hands the request to
``herald.core.http.request``, so GitHub calls get the same guarantees as every
other outbound call (http(s) only, timeouts and a deadline, checked redirects,
a capped body, and non-public addresses refused on the connected IP unless
``HERALD_HTTP_ALLOW_NETWORKS`` allows them), and githubkit never opens a socket
of its own. A refused address or a network failure becomes ``httpx.TransportError``
(what githubkit expects of a transport), keeping the wrapper's words.
"""

from __future__ import annotations

import httpx

from herald.core import http

# A page of 100 repository advisories is larger than the wrapper's default cap.
MAX_BODY = 4 * 1024 * 1024


class HeraldTransport(httpx.BaseTransport):
    def __init__(self, *, timeout: float = http.DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read() or None
        # httpx adds transport-level headers (Host, Content-Length, Accept-Encoding);
        # http.client sets the first two itself, and the wrapper decodes no gzip.
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() not in ("host", "content-length", "accept-encoding", "connection")
        }
        try:
            answer = http.request(
                request.method,
                str(request.url),
                body=body,
                headers=headers,
                timeout=self.timeout,
                max_body=MAX_BODY,
            )
        except http.RefusedAddress as exc:
            raise httpx.ConnectError(str(exc), request=request) from None
        except http.HTTPError as exc:
            raise httpx.TransportError(str(exc), request=request) from None
        return httpx.Response(
            answer.status,
            headers=list(answer.headers.items()),
            content=answer.body,
            request=request,
        )
