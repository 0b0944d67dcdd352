"""A loopback HTTP peer that plays any service described by an OpenAPI document.

Tests use it in place of an internet service (CVE Services, GitHub, ...): Herald's
real client code talks HTTP to ``127.0.0.1``, and the peer checks every request
against the service's official description, not against what the test author
thinks the service wants::

    with OpenAPIPeer.from_file(SPEC, base_path="/api") as peer:
        peer.respond("cveIdReserve", status=200, body={"cve_ids": [...]})
        ... Herald sends to peer.url ...
        peer.assert_clean()

Each request is matched to one operation (method and path template, ``base_path``
stripped) and checked: path, query and header parameters (required ones present,
values valid against their schema once coerced from text by the schema's type),
undocumented query parameters, and the JSON body against the operation's
``requestBody`` schema. ``$ref`` s are resolved with a ``referencing`` registry built
from the document; references to other files (``../schemas/x.json``) are loaded
through ``loader`` relative to ``base_uri`` (``from_file`` sets both). OpenAPI 3.0's
``nullable`` is understood; 3.1 schemas are JSON Schema 2020-12.

A request the document does not describe (404) or one that breaks it (400) is
answered so, and recorded in ``violations``; a test ends with
``peer.assert_clean()``. The peer answers only what the real service can: an answer
whose status the operation does not document, or whose JSON body fails the
documented response schema (a top-level ``oneOf`` read as ``anyOf``), is a
violation too. Statuses an HTTP front (a gateway,
a rate limiter) answers for every operation though the document lists them only
for some are opted in by name with ``gateway_statuses``.

Answers: ``respond(operation, status=..., body=..., headers=..., delay=...)``
queues an answer for an operation (its ``operationId`` or ``(method, template)``).
Queued answers are used in order and the last one stays until a new one is
queued, so one call sets the answer from then on and several give a sequence
(503 with Retry-After, then 200).
``body`` may be a callable of the recorded request. Without an answer, the
operation's documented example for its first 2xx response is sent, else ``{}``.

Not checked: ``security`` requirements (a test asserts the credentials it expects
through ``requests``), cookie parameters, and non-JSON bodies beyond their
Content-Type.

This is a test helper beside ``herald/test.py``: it imports no app and no Django.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

import jsonschema
import referencing
import referencing.jsonschema
from referencing.exceptions import NoSuchResource

__all__ = ["Answer", "OpenAPIPeer", "RecordedRequest", "file_loader"]

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# OpenAPI: header parameters with these names are ignored (described elsewhere).
_IGNORED_HEADERS = {"accept", "content-type", "authorization"}
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


@dataclass(frozen=True)
class RecordedRequest:
    """One request the peer received, as sent."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    json: Any
    operation_id: str | None = None
    path_params: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Answer:
    """What the peer sends for an operation."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    used: bool = False


@dataclass
class _Operation:
    method: str
    template: str
    regex: re.Pattern[str]
    literal_segments: int
    spec: dict[str, Any]
    parameters: list[dict[str, Any]]

    @property
    def operation_id(self) -> str | None:
        return self.spec.get("operationId")

    @property
    def name(self) -> str:
        return f"{self.method.upper()} {self.template}"


def file_loader(uri: str) -> Any:
    """Loads ``file://`` references; anything else is refused (tests stay on loopback)."""
    parts = urlsplit(uri)
    if parts.scheme != "file":
        raise NoSuchResource(uri)
    return json.loads(Path(unquote(parts.path)).read_text(encoding="utf-8"))


def _nullable_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` as JSON Schema (type and enum accept null)."""
    if isinstance(node, list):
        return [_nullable_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _nullable_to_jsonschema(value) for key, value in node.items()}
    if out.get("nullable") is True:
        del out["nullable"]
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


class OpenAPIPeer:
    """A threaded HTTP server on 127.0.0.1 playing the service ``document`` describes."""

    def __init__(
        self,
        document: Mapping[str, Any],
        *,
        base_path: str = "",
        base_uri: str = "urn:openapi-peer:document",
        loader: Callable[[str], Any] = file_loader,
        gateway_statuses: Iterable[int] = (),
        strict_query: bool = True,
    ) -> None:
        self.version = str(document.get("openapi", "3.0"))
        self.is_30 = self.version.startswith("3.0")
        self.document: dict[str, Any] = (
            _nullable_to_jsonschema(copy.deepcopy(dict(document)))
            if self.is_30
            else copy.deepcopy(dict(document))
        )
        self.base_path = "/" + base_path.strip("/") if base_path.strip("/") else ""
        self.base_uri = base_uri
        self._loader = loader
        self.gateway_statuses = frozenset(gateway_statuses)
        self.strict_query = strict_query
        self._default_dialect = (
            referencing.jsonschema.DRAFT7 if self.is_30 else referencing.jsonschema.DRAFT202012
        )
        self._by_id: dict[str, referencing.Resource[Any]] = {}
        self._registry: referencing.Registry[Any] = referencing.Registry(
            retrieve=self._retrieve  # type: ignore[call-arg]
        ).with_resource(
            base_uri,
            referencing.Resource.from_contents(
                self.document, default_specification=self._default_dialect
            ),
        )
        self._resolver = self._registry.resolver(base_uri=base_uri)
        self.operations = self._collect_operations()
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self._answers: dict[str, list[Answer]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> OpenAPIPeer:
        """The peer for the document at ``path``; its relative ``$ref`` s load beside it."""
        path = Path(path).resolve()
        document = json.loads(path.read_text(encoding="utf-8"))
        kwargs.setdefault("base_uri", path.as_uri())
        return cls(document, **kwargs)

    # --- references ------------------------------------------------------------------

    def _retrieve(self, uri: str) -> referencing.Resource[Any]:
        if uri in self._by_id:
            return self._by_id[uri]
        contents = self._loader(uri)
        if self.is_30:
            contents = _nullable_to_jsonschema(contents)
        resource = referencing.Resource.from_contents(
            contents, default_specification=self._default_dialect
        )
        # A file whose own $id differs from where it was found resolves its
        # "#/definitions/..." against that $id: remember it under both.
        own_id = resource.id()
        if own_id:
            self._by_id[own_id.rstrip("#")] = resource
            self._by_id[own_id] = resource
        return resource

    def _deref(self, node: Any) -> Any:
        """``node`` with a top-level ``$ref`` (a parameter, an example) followed."""
        seen = 0
        resolver = self._resolver
        while isinstance(node, dict) and "$ref" in node and seen < 20:
            resolved = resolver.lookup(node["$ref"])
            node, resolver = resolved.contents, resolved.resolver
            seen += 1
        return node

    def _errors(self, instance: Any, schema: Any) -> list[str]:
        """Errors of ``instance`` against ``schema``, a schema of the document (its
        ``#/...`` refs resolve in the document, other refs through the loader)."""
        target = self._deref(schema)
        cls = jsonschema.validators.validator_for(
            target if isinstance(target, dict) else {},
            default=jsonschema.Draft7Validator if self.is_30 else jsonschema.Draft202012Validator,
        )
        validator = cls(
            schema,
            registry=self._registry,
            _resolver=self._resolver,
            format_checker=cls.FORMAT_CHECKER,
        )
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        return [
            f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message[:300]}"
            for e in errors[:5]
        ]

    # --- operations --------------------------------------------------------------------

    def _collect_operations(self) -> list[_Operation]:
        operations = []
        for template, item in (self.document.get("paths") or {}).items():
            item = self._deref(item)
            shared = item.get("parameters", [])
            for method in METHODS:
                if method not in item:
                    continue
                spec = item[method]
                params: dict[tuple[str, str], dict[str, Any]] = {}
                for raw in [*shared, *spec.get("parameters", [])]:
                    param = self._deref(raw)
                    params[(param["name"], param["in"])] = param
                pattern = "".join(
                    f"(?P<p{i}>[^/]+)" if part.startswith("{") else re.escape(part)
                    for i, part in enumerate(re.split(r"(\{[^}]+\})", template))
                    if part
                )
                operations.append(
                    _Operation(
                        method=method,
                        template=template,
                        regex=re.compile(f"^{pattern}$"),
                        literal_segments=sum(1 for s in template.split("/") if s and "{" not in s),
                        spec=spec,
                        parameters=list(params.values()),
                    )
                )
        # A literal path wins over a template that also matches (/cve-id vs /cve/{id}).
        operations.sort(key=lambda op: -op.literal_segments)
        return operations

    def operation(self, key: str | tuple[str, str]) -> _Operation:
        """The operation named by its ``operationId`` or ``(method, path template)``."""
        for op in self.operations:
            if isinstance(key, str) and op.operation_id == key:
                return op
            if isinstance(key, tuple) and op.method == key[0].lower() and op.template == key[1]:
                return op
        raise KeyError(f"the document describes no operation {key!r}")

    def _match(self, method: str, path: str) -> tuple[_Operation | None, dict[str, str], bool]:
        """The operation, its path parameters, and whether the path exists at all."""
        path_known = False
        for op in self.operations:
            found = op.regex.match(path)
            if not found:
                continue
            path_known = True
            if op.method == method:
                names = re.findall(r"\{([^}]+)\}", op.template)
                values = [unquote(v) for v in found.groups()]
                return op, dict(zip(names, values, strict=True)), True
        return None, {}, path_known

    # --- answers -----------------------------------------------------------------------

    def respond(
        self,
        operation: str | tuple[str, str],
        *,
        status: int = 200,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:
        """Queue an answer: used in order; the last one stays until another is queued."""
        op = self.operation(operation)
        with self._lock:
            queue = self._answers.setdefault(op.name, [])
            if len(queue) == 1 and queue[0].used:
                queue.clear()  # the answer that stayed gives way to the new one
            queue.append(Answer(status=status, body=body, headers=dict(headers or {}), delay=delay))

    def _next_answer(self, op: _Operation) -> Answer:
        with self._lock:
            queue = self._answers.get(op.name)
            if queue:
                answer = queue.pop(0) if len(queue) > 1 else queue[0]
                answer.used = True
                return answer
        for status, response in op.spec.get("responses", {}).items():
            if str(status).startswith("2"):
                example = self._example(self._deref(response))
                return Answer(status=int(status), body={} if example is None else example)
        return Answer(status=200, body={})

    def _example(self, response: dict[str, Any]) -> Any:
        content = response.get("content") or {}
        media: dict[str, Any] = content.get("application/json") or next(iter(content.values()), {})
        if "example" in media:
            return media["example"]
        for example in (media.get("examples") or {}).values():
            example = self._deref(example)
            if isinstance(example, dict) and "value" in example:
                return example["value"]
        schema = self._deref(media.get("schema") or {})
        if isinstance(schema, dict) and "example" in schema:
            return schema["example"]
        return None

    def _documented_response(self, op: _Operation, status: int) -> str | None:
        responses = op.spec.get("responses", {})
        for key in (str(status), f"{str(status)[0]}XX", f"{str(status)[0]}xx", "default"):
            if key in responses:
                return key
        return None

    def _check_answer(self, op: _Operation, answer: Answer, body: Any) -> None:
        key = self._documented_response(op, answer.status)
        if key is None:
            if answer.status not in self.gateway_statuses:
                self._violation(
                    op.method,
                    op.template,
                    f"the peer was told to answer {answer.status}, "
                    "which the document does not list for this operation",
                )
            return
        if body is None:
            return
        response = self._deref(op.spec["responses"][key])
        media = (response.get("content") or {}).get("application/json")
        if media and "schema" in media:
            schema = media["schema"]
            if isinstance(schema, dict) and "oneOf" in schema:
                # Descriptions write a union of answers as oneOf where the branches
                # overlap (CVE Services' GET /cve/{id}): an answer matching several
                # is still one the service gives.
                schema = {**schema, "anyOf": schema["oneOf"]}
                del schema["oneOf"]
            for error in self._errors(body, schema):
                self._violation(
                    op.method, op.template, f"the peer's own {answer.status} answer: {error}"
                )

    # --- checks ------------------------------------------------------------------------

    def _violation(self, method: str, path: str, what: str) -> None:
        with self._lock:
            self.violations.append(f"{method.upper()} {path}: {what}")

    def _coerce(self, value: str, schema: dict[str, Any]) -> Any:
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), None)
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
        if kind == "boolean":
            if value.lower() in _TRUE:
                return True
            if value.lower() in _FALSE:
                return False
            raise ValueError(value)
        return value

    def _check_params(
        self,
        op: _Operation,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        path_params: dict[str, str],
    ) -> list[str]:
        problems = []
        documented_query = set()
        for param in op.parameters:
            name, where = param["name"], param["in"]
            if where == "header" and name.lower() in _IGNORED_HEADERS:
                continue
            raw: list[str] | None
            if where == "query":
                documented_query.add(name)
                raw = query.get(name)
            elif where == "header":
                raw = [headers[name.lower()]] if name.lower() in headers else None
            elif where == "path":
                raw = [path_params[name]] if name in path_params else None
            else:  # cookie: not checked
                continue
            if raw is None:
                if param.get("required"):
                    problems.append(f"required {where} parameter {name!r} is missing")
                continue
            schema = self._deref(param.get("schema") or {})
            try:
                if isinstance(schema, dict) and schema.get("type") == "array":
                    items = self._deref(schema.get("items") or {})
                    values = raw if len(raw) > 1 else raw[0].split(",")
                    value: Any = [self._coerce(v, items) for v in values]
                else:
                    if len(raw) > 1:
                        problems.append(f"{where} parameter {name!r} is given {len(raw)} times")
                    value = self._coerce(raw[0], schema if isinstance(schema, dict) else {})
            except ValueError:
                problems.append(f"{where} parameter {name!r}={raw!r} is not a {schema.get('type')}")
                continue
            if "schema" in param:
                errors = self._errors(value, param["schema"])
                problems.extend(f"{where} parameter {name!r}: {e}" for e in errors)
        if self.strict_query:
            for name in query:
                if name not in documented_query:
                    problems.append(f"query parameter {name!r} is not documented")
        return problems

    def _check_body(self, op: _Operation, raw: bytes, content_type: str) -> tuple[Any, list[str]]:
        body_spec = op.spec.get("requestBody")
        if body_spec is None:
            if raw.strip():
                return None, ["a body was sent, and the operation takes none"]
            return None, []
        body_spec = self._deref(body_spec)
        if not raw.strip():
            return None, (
                ["the required request body is missing"] if body_spec.get("required") else []
            )
        content = body_spec.get("content") or {}
        media_type = content_type.split(";")[0].strip().lower()
        json_type = next(
            (t for t in content if t == "application/json" or t.endswith("+json")), None
        )
        if media_type not in content and not (json_type and media_type == json_type):
            return None, [
                f"Content-Type {media_type or '(none)'!r} is not one of {sorted(content)}"
            ]
        if not (media_type == "application/json" or media_type.endswith("+json")):
            return None, []
        try:
            body = json.loads(raw)
        except ValueError as exc:
            return None, [f"the body is not JSON ({exc})"]
        media = content[media_type]
        if "schema" not in media:
            return body, []
        errors = self._errors(body, media["schema"])
        return body, [f"body {e}" for e in errors]

    # --- serving -----------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        method = handler.command.lower()
        parts = urlsplit(handler.path)
        full_path = unquote(parts.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        length = int(headers.get("content-length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body_json = json.loads(raw) if raw.strip() else None
        except ValueError:
            body_json = None

        path = full_path
        if self.base_path:
            if not (full_path == self.base_path or full_path.startswith(self.base_path + "/")):
                self._record(method, full_path, query, headers, body_json, None, {})
                self._violation(method, full_path, f"outside the base path {self.base_path}")
                self._send(handler, 404, {"error": "NOT_FOUND", "message": "not documented"})
                return
            path = full_path[len(self.base_path) :] or "/"
        op, path_params, path_known = self._match(method, path)
        self._record(
            method,
            full_path,
            query,
            headers,
            body_json,
            op.operation_id if op else None,
            path_params,
        )
        if op is None:
            what = (
                f"the document describes no {method.upper()} on this path"
                if path_known
                else "the document describes no such path"
            )
            self._violation(method, full_path, what)
            self._send(handler, 404, {"error": "NOT_FOUND", "message": what})
            return
        problems = self._check_params(op, full_path, query, headers, path_params)
        _body, body_problems = self._check_body(op, raw, headers.get("content-type", ""))
        problems += body_problems
        if problems:
            for problem in problems:
                self._violation(method, f"{full_path} ({op.template})", problem)
            self._send(handler, 400, {"error": "BAD_REQUEST", "message": "; ".join(problems)})
            return
        answer = self._next_answer(op)
        recorded = self.requests[-1]
        body = answer.body(recorded) if callable(answer.body) else answer.body
        self._check_answer(op, answer, body)
        if answer.delay:
            time.sleep(answer.delay)
        self._send(handler, answer.status, body, answer.headers)

    def _record(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: Any,
        operation_id: str | None,
        path_params: dict[str, str],
    ) -> None:
        with self._lock:
            self.requests.append(
                RecordedRequest(
                    method=method.upper(),
                    path=path,
                    query=query,
                    headers=headers,
                    json=body,
                    operation_id=operation_id,
                    path_params=path_params,
                )
            )

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler,
        status: int,
        body: Any,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        handler.send_response(status)
        headers = dict(headers or {})
        if body is not None:
            headers.setdefault("Content-Type", "application/json")
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(payload)

    def __enter__(self) -> OpenAPIPeer:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one_request(self) -> None:
                self.raw_requestline = self.rfile.readline(65537)
                if not self.raw_requestline:
                    self.close_connection = True
                    return
                if not self.parse_request():
                    return
                try:
                    peer._handle(self)
                except Exception as exc:  # a bug in the peer must fail the test, not hang it
                    peer._violation(self.command, self.path, f"the peer failed: {exc!r}")
                    self.send_error(500)
                self.wfile.flush()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{self.base_path}"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def url_for(self, path: str) -> str:
        """The absolute URL of ``path`` (below the base path)."""
        return urljoin(self.url + "/", path.lstrip("/"))

    def assert_clean(self) -> None:
        """Fails the test with every request that broke the document."""
        assert self.violations == [], "requests the document does not allow:\n" + "\n".join(
            self.violations
        )

    def requests_to(self, operation: str | tuple[str, str]) -> list[RecordedRequest]:
        """The recorded requests matched to ``operation``."""
        op = self.operation(operation)
        return [
            r
            for r in self.requests
            if r.method.lower() == op.method
            and r.operation_id == op.operation_id
            and (op.operation_id is not None or op.regex.match(r.path[len(self.base_path) :]))
        ]
