"""Every address Herald answers: the URL resolver's patterns and the API's operations.

The authorization matrix and the embargo suite both start here, so a page or an
endpoint added anywhere in the project is found without anyone listing it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver


@dataclass(frozen=True)
class Route:
    key: str  # "namespace:name", or the pattern for an unnamed route
    pattern: str
    module: str

    def path(self, values: dict[str, str]) -> str:
        """The route's pattern with a sample value in each converter (``<str:pk>``)."""

        def fill(match: re.Match[str]) -> str:
            converter, name = match.group(1) or "str", match.group(2)
            if name in values:
                return values[name]
            return {"int": "1", "slug": "cloud", "path": "x"}.get(converter, "x")

        path = re.sub(r"<(?:(\w+):)?(\w+)>", fill, self.pattern)
        return "/" + path.lstrip("^").rstrip("$")


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = namespace
            if p.namespace:
                ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            pattern = prefix + str(p.pattern)
            name = f"{namespace}:{p.name}" if namespace and p.name else (p.name or "")
            module = getattr(p.callback, "__module__", "") or ""
            yield Route(key=name or pattern, pattern=pattern, module=module)


def routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns))


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # "/api/v1/desk/advisories/{identifier}"
    secured: bool

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def url(self, values: dict[str, str]) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x"), self.path)


def operations() -> list[Operation]:
    from herald.api.api import api

    document = api.get_openapi_schema()
    found = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            found.append(Operation(method.upper(), path, bool(operation.get("security"))))
    return found
