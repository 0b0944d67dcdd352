"""The OSV query API, with osv.dev's request and response shapes.

``POST /v1/query``, ``POST /v1/querybatch`` and ``GET /v1/vulns/<id>`` answer as
api.osv.dev does, so OSV clients (osv-scanner, Renovate, pip-audit, ...) can be
pointed at a vendor's Herald:

- a query names a package (``name`` + ``ecosystem``, or a ``purl``), optionally a
  ``version``, or a ``commit``; the answer is ``{"vulns": [...]}`` (``{}`` when none)
  and a ``next_page_token`` when there are more, which the client sends back as
  ``page_token`` with the same query;
- a batch answers ``{"results": [...]}``, one per query, with ``id`` and
  ``modified`` only, as osv.dev does;
- errors are ``{"code": N, "message": "..."}`` (gRPC codes: 3 invalid, 5 not found).

Answers come from the stored OSV documents (the very bytes of ``/osv/<ID>.json``):
the database only narrows the candidates (which advisories name the package or
commit), and the document's own ranges decide whether a version is affected, so
the API and the files can never disagree. Only published advisories match a
query; withdrawn ones are still served by id. Drafts do not exist here
(DESIGN.md rule 3): every candidate comes from the public states.

Versions are compared with ``univers`` (ecosystem-specific: PEP 440, Maven,
NuGet, RubyGems, Composer, Go, SemVer); a vendor's own ecosystem, or a version
``univers`` cannot parse, falls back to a natural order (digit runs as numbers).
Commit queries match the commits a GIT range names as affected (``introduced``,
``last_affected``) or lists in ``versions``: unlike osv.dev, Herald does not clone
repositories to walk the history between them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.core.exceptions import RequestDataTooBig
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe
from packageurl import PackageURL
from univers.versions import (
    AlpineLinuxVersion,
    ComposerVersion,
    DebianVersion,
    GolangVersion,
    MavenVersion,
    NugetVersion,
    PypiVersion,
    RubygemsVersion,
    SemverVersion,
    Version,
)

from herald.advisories.models import Advisory, Affected
from herald.advisories.queries import PUBLIC_STATES
from herald.advisories.snapshot import snapshot_of
from herald.publishing.models import Artifact
from herald.publishing.render.osv import render_osv_documents
from herald.publishing.render.publisher import PURL_TYPES, json_bytes
from herald.publishing.site.surfaces import site_publisher
from herald.publishing.site.surfaces_osv import has_former_address, osv_path, public_osv_ids
from herald.publishing.store.artifacts import read_many, read_one

# osv.dev pages long answers; clients loop on next_page_token.
QUERY_PAGE_SIZE = 1000
BATCH_PAGE_SIZE = 1000
MAX_BATCH_QUERIES = 1000
INVALID = 3  # gRPC INVALID_ARGUMENT, as osv.dev reports bad queries
NOT_FOUND = 5
TOKEN_SALT = "herald.osv.page-token"  # noqa: S105  (a signing salt, not a secret)

UNIVERS: dict[str, type[Version]] = {
    "PyPI": PypiVersion,
    "npm": SemverVersion,
    "crates.io": SemverVersion,
    "Hex": SemverVersion,
    "Pub": SemverVersion,
    "Maven": MavenVersion,
    "NuGet": NugetVersion,
    "RubyGems": RubygemsVersion,
    "Packagist": ComposerVersion,
    "Go": GolangVersion,
    "Debian": DebianVersion,
    "Alpine": AlpineLinuxVersion,
}
PURL_ECOSYSTEMS = {purl_type: ecosystem for ecosystem, purl_type in PURL_TYPES.items()}


class QueryError(Exception):
    """A query osv.dev would refuse: answered with code 3 and this message."""


# --- versions -------------------------------------------------------------------------


def natural_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Digit runs compare as numbers, other runs as text: 2025.10 > 2025.9."""
    parts = re.findall(r"\d+|[A-Za-z]+", version)
    return tuple((0, int(p)) if p.isdigit() else (1, p.lower()) for p in parts)


def _comparator(ecosystem: str, range_type: str) -> Callable[[str], Any] | None:
    if range_type == "SEMVER":
        return SemverVersion
    return UNIVERS.get(ecosystem.split(":", 1)[0])


def version_keys(values: Iterable[str], ecosystem: str, range_type: str) -> dict[str, Any]:
    """A sort key per version; one scheme for all of them, so they compare."""
    unique = list(dict.fromkeys(values))
    parse = _comparator(ecosystem, range_type)
    if parse is not None:
        try:
            return {v: parse(v) for v in unique}
        except Exception:  # noqa: S110  univers raises various errors: natural order then
            pass
    return {v: natural_key(v) for v in unique}


def affects(version: str, entry: dict[str, Any]) -> bool:
    """Whether an OSV ``affected`` entry lists ``version`` (the OSV spec's evaluation)."""
    if version in (entry.get("versions") or []):
        return True
    ecosystem = str((entry.get("package") or {}).get("ecosystem", ""))
    for range_ in entry.get("ranges") or []:
        kind = str(range_.get("type", ""))
        if kind == "GIT":
            continue
        # An empty value (GitHub writes "fixed": "" for "no fix") says nothing.
        events = [
            (name, value)
            for event in range_.get("events") or []
            if isinstance(event, dict)
            for name, value in event.items()
            if isinstance(value, str) and value and name != "limit"
        ]
        values = [version, *(value for _, value in events)]
        for keys in (version_keys(values, ecosystem, kind), {v: natural_key(v) for v in values}):
            try:
                if _in_range(version, events, keys):
                    return True
                break
            except TypeError:
                # A version univers parsed met one it could not compare with:
                # the natural order decides instead.
                continue
    return False


def _in_range(version: str, events: list[tuple[str, str]], keys: dict[str, Any]) -> bool:
    """OSV's sweep: events in version order ("introduced: 0" first), last word wins."""
    zero = [e for e in events if e[1] == "0"]
    ordered = zero + sorted((e for e in events if e[1] != "0"), key=lambda e: keys[e[1]])
    target = keys[version]
    affected = False
    for kind, value in ordered:
        if kind == "introduced" and (value == "0" or target >= keys[value]):
            affected = True
        elif kind in ("fixed", "last_affected"):
            # A fixed version is no longer affected; the last affected one still is.
            past = target >= keys[value] if kind == "fixed" else target > keys[value]
            affected = affected and not past
    return affected


def names_commit(commit: str, entry: dict[str, Any]) -> bool:
    """Whether an entry's GIT ranges (or versions) name ``commit`` as affected."""
    if commit in (entry.get("versions") or []):
        return True
    for range_ in entry.get("ranges") or []:
        if range_.get("type") != "GIT":
            continue
        for event in range_.get("events") or []:
            for kind, value in event.items():
                if kind in ("introduced", "last_affected") and value == commit:
                    return True
    return False


# --- queries ------------------------------------------------------------------------


def normalize_name(ecosystem: str, name: str) -> str:
    """Names as the ecosystem compares them: PEP 503 for PyPI, exact elsewhere."""
    if ecosystem == "PyPI":
        return re.sub(r"[-_.]+", "-", name).lower()
    return name


@dataclass(frozen=True)
class Query:
    ecosystem: str = ""
    name: str = ""
    version: str = ""
    commit: str = ""
    page_token: str = ""

    @property
    def fingerprint(self) -> str:
        key = json.dumps([self.ecosystem, self.name, self.version, self.commit])
        return hashlib.sha256(key.encode()).hexdigest()[:16]


def parse_query(raw: Any) -> Query:
    """An osv.dev query object, checked as osv.dev checks it."""
    if not isinstance(raw, dict):
        raise QueryError("A query is a JSON object.")
    package = raw.get("package") or {}
    if not isinstance(package, dict):
        raise QueryError("package must be an object.")
    fields = {
        "version": raw.get("version"),
        "commit": raw.get("commit"),
        "page_token": raw.get("page_token"),
        "name": package.get("name"),
        "ecosystem": package.get("ecosystem"),
        "purl": package.get("purl"),
    }
    for key, value in fields.items():
        if value is not None and not isinstance(value, str):
            raise QueryError(f"{key} must be a string.")
    values = {k: (v or "").strip() for k, v in fields.items()}
    purl = values.pop("purl")
    if purl:
        if values["name"] or values["ecosystem"]:
            raise QueryError("Give package.purl, or package.name and package.ecosystem; not both.")
        try:
            parsed = PackageURL.from_string(purl)
        except ValueError as exc:
            raise QueryError(f"Invalid purl: {exc}") from None
        ecosystem = PURL_ECOSYSTEMS.get(parsed.type)
        if ecosystem is None:
            raise QueryError(f"purl type {parsed.type!r} is not an ecosystem Herald knows.")
        name = parsed.name
        if parsed.namespace:
            name = (
                f"{parsed.namespace}:{name}"
                if ecosystem == "Maven"
                else (f"{parsed.namespace}/{name}")
            )
        if parsed.version:
            if values["version"] and values["version"] != parsed.version:
                raise QueryError("The purl's version and version differ.")
            values["version"] = parsed.version
        values["ecosystem"], values["name"] = ecosystem, name
    if values["commit"]:
        if values["version"]:
            raise QueryError("Give a version or a commit, not both.")
        if not re.fullmatch(r"[0-9a-fA-F]{4,64}", values["commit"]):
            raise QueryError("commit must be a hexadecimal commit hash.")
        values["commit"] = values["commit"].lower()
    elif not values["name"]:
        raise QueryError("Give package.name (with package.ecosystem), package.purl, or commit.")
    return Query(**values)


def _candidates(query: Query) -> list[str]:
    """Identifiers of published advisories whose affected rows name the package or commit."""
    rows = Affected.objects.filter(advisory__state=Advisory.State.PUBLISHED)
    if query.commit:
        rows = rows.filter(
            Q(introduced__iexact=query.commit)
            | Q(last_affected__iexact=query.commit)
            | Q(fixed__iexact=query.commit)
        )
        return sorted(set(rows.values_list("advisory__identifier", flat=True)))
    publisher = site_publisher()
    wanted = normalize_name(query.ecosystem, query.name)
    found: set[str] = set()
    if not query.ecosystem or query.ecosystem != publisher.ecosystem:
        packages = rows.exclude(product__ecosystem="")
        if query.ecosystem:
            packages = packages.filter(product__ecosystem=query.ecosystem)
        for identifier, ecosystem, name in packages.values_list(
            "advisory__identifier", "product__ecosystem", "product__package_name"
        ):
            if normalize_name(ecosystem, name) == normalize_name(ecosystem, query.name):
                found.add(identifier)
    if not query.ecosystem or query.ecosystem == publisher.ecosystem:
        found.update(
            rows.filter(product__ecosystem="", product__name=wanted).values_list(
                "advisory__identifier", flat=True
            )
        )
    return sorted(found)


def documents(identifiers: list[str]) -> dict[str, bytes]:
    """OSV id -> stored OSV bytes of every document of these advisories (one per
    vulnerability); rendered when not stored (yet)."""
    publisher = site_publisher()
    ids = public_osv_ids(publisher, identifier__in=identifiers)
    paths = {osv_path(osv_id): osv_id for osv_ids in ids.values() for osv_id in osv_ids}
    found = {
        paths[path]: content
        for path, content in read_many(Artifact.objects.filter(path__in=list(paths)))
    }
    missing = [i for i, osv_ids in ids.items() if any(o not in found for o in osv_ids)]
    if missing:
        for advisory in Advisory.objects.filter(identifier__in=missing, state__in=PUBLIC_STATES):
            for doc in render_osv_documents(
                snapshot_of(advisory),
                publisher,
                former_id=has_former_address(advisory.identifier, publisher),
            ):
                found.setdefault(doc["id"], json_bytes(doc))
    return found


def _matches(query: Query, doc: dict[str, Any]) -> bool:
    for entry in doc.get("affected") or []:
        if query.commit:
            if names_commit(query.commit, entry):
                return True
            continue
        package = entry.get("package") or _vendor_package(entry)
        entry = _with_vendor_ranges(entry)
        ecosystem = str(package.get("ecosystem", ""))
        if query.ecosystem and ecosystem.split(":", 1)[0] != query.ecosystem:
            continue
        if normalize_name(ecosystem, str(package.get("name", ""))) != normalize_name(
            ecosystem, query.name
        ):
            continue
        if not query.version or affects(query.version, entry):
            return True
    return False


def _vendor_package(entry: dict[str, Any]) -> dict[str, str]:
    """A product outside OSV's ecosystems has no package in the document (osv.py): it
    is queried as before, as the vendor's ecosystem and the product's name."""
    product = (entry.get("database_specific") or {}).get("product")
    if not isinstance(product, str):
        return {}
    return {"ecosystem": site_publisher().ecosystem, "name": product}


def _with_vendor_ranges(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry with the ranges osv.py keeps in database_specific when no package
    gives them a meaning, so a version query still finds them."""
    if entry.get("package") or entry.get("ranges"):
        return entry
    kept = (entry.get("database_specific") or {}).get("ranges")
    return {**entry, "ranges": kept} if isinstance(kept, list) else entry


def run_query(query: Query) -> list[dict[str, Any]]:
    """Every matching published document (one per vulnerability), ordered by id."""
    docs = documents(_candidates(query))
    out = []
    for identifier in sorted(docs):
        doc = json.loads(docs[identifier])
        if doc.get("withdrawn"):
            continue
        if _matches(query, doc):
            out.append(doc)
    return out


def _page(query: Query, items: list[Any], size: int) -> dict[str, Any]:
    """One page of ``items`` in osv.dev's shape: {} when empty."""
    offset = 0
    if query.page_token:
        try:
            token = signing.loads(query.page_token, salt=TOKEN_SALT)
        except signing.BadSignature:
            raise QueryError("Invalid page_token.") from None
        if not isinstance(token, dict) or token.get("q") != query.fingerprint:
            raise QueryError("The page_token belongs to another query.")
        offset = int(token.get("o", 0))
    page = items[offset : offset + size]
    result: dict[str, Any] = {}
    if page:
        result["vulns"] = page
    if offset + size < len(items):
        result["next_page_token"] = signing.dumps(
            {"o": offset + size, "q": query.fingerprint}, salt=TOKEN_SALT
        )
    return result


# --- views --------------------------------------------------------------------------


def error(status: int, code: int, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message}, status=status)


def _body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"null")
    except RequestDataTooBig:
        raise QueryError("The request is too large.") from None
    except (ValueError, UnicodeDecodeError):
        raise QueryError("The body is not JSON.") from None


def _json(data: dict[str, Any]) -> HttpResponse:
    return HttpResponse(
        json.dumps(data, ensure_ascii=False).encode(), content_type="application/json"
    )


@csrf_exempt  # a public read API: no cookie, no session, nothing to forge
@require_POST
def query(request: HttpRequest) -> HttpResponse:
    try:
        parsed = parse_query(_body(request))
        return _json(_page(parsed, run_query(parsed), QUERY_PAGE_SIZE))
    except QueryError as exc:
        return error(400, INVALID, str(exc))


@csrf_exempt  # as above
@require_POST
def querybatch(request: HttpRequest) -> HttpResponse:
    try:
        body = _body(request)
        raw = body.get("queries") if isinstance(body, dict) else None
        if not isinstance(raw, list):
            raise QueryError('Give {"queries": [...]}.')
        if len(raw) > MAX_BATCH_QUERIES:
            raise QueryError(f"At most {MAX_BATCH_QUERIES} queries per batch.")
        queries = [parse_query(item) for item in raw]
        results = []
        for parsed in queries:
            brief = [{"id": d["id"], "modified": d["modified"]} for d in run_query(parsed)]
            results.append(_page(parsed, brief, BATCH_PAGE_SIZE))
        return _json({"results": results})
    except QueryError as exc:
        return error(400, INVALID, str(exc))


@require_safe
def vuln(request: HttpRequest, vuln_id: str) -> HttpResponse:
    for identifier in dict.fromkeys((vuln_id, vuln_id.upper())):
        content = _one(identifier)
        if content is not None:
            return HttpResponse(content, content_type="application/json")
    return error(404, NOT_FOUND, "Bug not found.")


def _one(vuln_id: str) -> bytes | None:
    """The document of an OSV id, or of an advisory's identifier where that was its id
    before OSV ids took a prefix (its copy at that address, read first, is stored)."""
    content = read_one(osv_path(vuln_id))
    if content is not None:
        return content
    publisher = site_publisher()
    prefix = publisher.osv_id_prefix
    if prefix and not vuln_id.startswith(prefix):
        return None  # an identifier never served as an OSV id
    identifier = vuln_id[len(prefix) :]
    # <identifier>-N is the Nth vulnerability's document of <identifier>; an
    # identifier may itself end in -N (NW-2026-0001), so both are asked.
    candidates = [identifier]
    numbered = re.fullmatch(r"(.+)-([2-9]|[1-9]\d+)", identifier)
    if numbered:
        candidates.append(numbered.group(1))
    return documents(candidates).get(publisher.osv_id(identifier))


def documents_if_public(identifier: str) -> bytes | None:
    """The first document of an advisory, if public."""
    return documents([identifier]).get(site_publisher().osv_id(identifier))
