"""Run-time validation of what Herald publishes, naming the field at fault.

- CVE JSON 5: the official schemas that the maintained ``cvelib`` package ships
  (the same files as the CVE Program's), checked with ``jsonschema``.
- CVSS v2.0/v3.0/v3.1 JSON: FIRST's schemas, embedded in that CVE schema; CSAF
  refers to them by URL (mandatory test 6.1.8), so they are served from here.
- OSV: the official OSV 1.7 schema (shipped as ``standards/osv_schema.json``, its
  source named beside it) with its ``format`` checks, plus the CVSS vectors parsed;
  ``osv_problems`` keeps the lenient rules by code that imports accept.
- CSAF 2.0: the structure Herald relies on, checked by code, plus the mandatory
  tests of section 6.1 (``herald.publishing.render.csaf_checks``).

Each ``*_problems`` function returns a list of "path: message" strings, empty when
the document is valid.
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from typing import Any

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError
from jsonschema import Draft7Validator, Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError

CVSS_SCHEMA_URLS = {
    "cvssV2_0": "https://www.first.org/cvss/cvss-v2.0.json",
    "cvssV3_0": "https://www.first.org/cvss/cvss-v3.0.json",
    "cvssV3_1": "https://www.first.org/cvss/cvss-v3.1.json",
}


@functools.cache
def cve_schema(name: str = "bundled") -> dict[str, Any]:
    """One of cvelib's CVE 5.1.1 schemas: bundled (records), cnaPublishedContainer, ..."""
    text = (
        resources.files("cvelib")
        .joinpath("schemas", f"CVE_JSON_{name}_5.1.1.json")
        .read_text(encoding="utf-8")
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def cvss_schemas() -> dict[str, dict[str, Any]]:
    """FIRST's CVSS JSON schemas by their URL, as embedded in the CVE record schema."""
    item = cve_schema()["definitions"]["metrics"]["items"]["properties"]
    schemas = {}
    for key, url in CVSS_SCHEMA_URLS.items():
        # The bundle's references point into the bundle; make them local again.
        text = json.dumps(item[key]).replace(
            f"#/definitions/metrics/items/properties/{key}/definitions/", "#/definitions/"
        )
        schemas[url] = json.loads(text)
    return schemas


def _schema_problems(validator: Draft7Validator | Draft202012Validator, document: Any) -> list[str]:
    problems = []
    for error in validator.iter_errors(document):
        for leaf in _leaves(error):
            problems.append(f"{_path(leaf)}: {leaf.message[:300]}")
    return sorted(dict.fromkeys(problems))


def _leaves(error: SchemaError) -> list[SchemaError]:
    """The errors of the alternative that came closest, for oneOf/anyOf failures.

    "Not valid under any of the given schemas" names no field; the branch with the
    fewest errors is the one the document meant to follow.
    """
    if error.validator not in ("oneOf", "anyOf") or not error.context:
        return [error]
    branches: dict[Any, list[SchemaError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    closest = min(branches.values(), key=len)
    return [leaf for sub in closest for leaf in _leaves(sub)]


def _path(error: SchemaError) -> str:
    return "/" + "/".join(str(p) for p in error.absolute_path)


@functools.cache
def _validator(name: str) -> Draft7Validator:
    # Formats checked too (uri, date-time, ...), as a consumer validating the schema does.
    return Draft7Validator(cve_schema(name), format_checker=Draft7Validator.FORMAT_CHECKER)


def cve_record_problems(record: Any) -> list[str]:
    """A full CVE record (published or rejected) against the CVE 5.1.1 record schema."""
    return _schema_problems(_validator("bundled"), record)


def cna_container_problems(container: Any) -> list[str]:
    """A published CNA container, as CVE Services receives it."""
    return _schema_problems(_validator("cnaPublishedContainer"), container)


def rejected_container_problems(container: Any) -> list[str]:
    """A rejected CNA container (the reason a CVE id is rejected), as CVE Services takes it."""
    return _schema_problems(_validator("cnaRejectedContainer"), container)


def cvss_object_problems(obj: Any, url: str) -> list[str]:
    """A CVSS JSON object against FIRST's schema for its version (CSAF 6.1.8)."""
    schema = cvss_schemas()[url]
    return _schema_problems(Draft7Validator(schema), obj)


# --- OSV ----------------------------------------------------------------------------


@functools.cache
def osv_schema() -> dict[str, Any]:
    """The official OSV schema as ossf/osv-schema publishes it (standards/README.md)."""
    text = resources.files("herald.publishing").joinpath("standards", "osv_schema.json")
    schema: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return schema


@functools.cache
def _osv_validator() -> Draft202012Validator:
    # format_checker: "date-time" (rfc3339-validator) and "uri" (rfc3987) are checked.
    return Draft202012Validator(osv_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def osv_schema_problems(doc: Any, *, registered: bool = False) -> list[str]:
    """A document against the official OSV schema, formats included, then its CVSS vectors.

    What osv.dev and OSV tools check: an id prefix OSV knows (or "x_"), ecosystems
    from OSV's closed list, RFC 3339 timestamps, URIs. ``registered``: the vendor
    registered its own id prefix with OSV (HERALD_OSV_ID_PREFIX=""), which the
    schema shipped with this Herald may predate; the id's prefix is not checked.
    """
    problems = []
    for error in _osv_validator().iter_errors(doc):
        if registered and list(error.absolute_path) == ["id"] and error.validator == "pattern":
            continue
        for leaf in _leaves(error):
            problems.append(f"{_path(leaf)}: {_osv_plain(leaf)}")
    if isinstance(doc, dict):
        problems += [p for p in osv_problems(doc) if "/severity/" in p or p.startswith("/severity")]
    return sorted(dict.fromkeys(problems))


OSV_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
OSV_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.]*(-[A-Za-z0-9_.:]+)+$")
OSV_REFERENCE_TYPES = {
    "ADVISORY", "ARTICLE", "DETECTION", "DISCUSSION", "REPORT", "FIX", "INTRODUCED", "GIT",
    "PACKAGE", "EVIDENCE", "WEB",
}  # fmt: skip
OSV_CREDIT_TYPES = {
    "FINDER", "REPORTER", "ANALYST", "COORDINATOR", "REMEDIATION_DEVELOPER",
    "REMEDIATION_REVIEWER", "REMEDIATION_VERIFIER", "TOOL", "SPONSOR", "OTHER",
}  # fmt: skip
# The ecosystems OSV 1.7 defines; a vendor database adds its own name.
OSV_ECOSYSTEMS = {
    "AlmaLinux", "Alpaquita", "Alpine", "Android", "Azure Linux", "BellSoft Hardened Containers",
    "Bioconductor", "Bitnami", "Chainguard", "CleanStart", "ConanCenter", "CRAN", "crates.io",
    "Debian", "Docker Hardened Images", "Echo", "FreeBSD", "GHC", "GitHub Actions", "Go",
    "Hackage", "Hex", "Julia", "Kubernetes", "Linux", "Mageia", "Maven", "MinimOS", "npm",
    "NuGet", "opam", "openEuler", "openSUSE", "OSS-Fuzz", "Packagist", "Photon OS", "Pub", "PyPI",
    "Red Hat", "Rocky Linux", "Root", "RubyGems", "SUSE", "SwiftURL", "TuxCare", "Ubuntu",
    "VSCode", "Wolfi", "GIT",
}  # fmt: skip
URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$")
GIT_HASH = re.compile(r"^(0|[a-f0-9]{40}|[a-f0-9]{64})$")


def osv_problems(doc: Any, *, ecosystems: frozenset[str] = frozenset()) -> list[str]:
    """OSV 1.7 rules checked by code; ``ecosystems`` adds vendor ecosystem names."""
    if not isinstance(doc, dict):
        return ["/: an OSV document is a JSON object"]
    problems: list[str] = []
    known = OSV_ECOSYSTEMS | ecosystems

    def bad(path: str, message: str) -> None:
        problems.append(f"{path}: {message}")

    if not isinstance(doc.get("id"), str) or not OSV_ID.match(doc["id"]):
        bad("/id", "needs an id of the form <DB>-<ENTRYID>")
    for field in ("modified", "published", "withdrawn"):
        value = doc.get(field)
        present = field == "modified" or value is not None
        if present and not (isinstance(value, str) and OSV_TIMESTAMP.match(value)):
            bad(f"/{field}", "needs an RFC 3339 UTC timestamp ending in Z")
    for field in ("aliases", "related", "upstream"):
        value = doc.get(field)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            bad(f"/{field}", "must be a list of strings")
    for field in ("summary", "details", "schema_version"):
        if field in doc and not isinstance(doc[field], str):
            bad(f"/{field}", "must be a string")
    has_top_severity = bool(doc.get("severity"))
    _osv_severity(doc.get("severity"), "/severity", bad)
    for i, entry in enumerate(doc.get("affected") or []):
        path = f"/affected/{i}"
        if not isinstance(entry, dict):
            bad(path, "must be an object")
            continue
        package = entry.get("package")
        if package is not None:
            eco = package.get("ecosystem") if isinstance(package, dict) else None
            if not isinstance(eco, str) or eco.split(":", 1)[0] not in known:
                bad(f"{path}/package/ecosystem", f"{eco!r} is not an OSV ecosystem")
            if not isinstance(package, dict) or not isinstance(package.get("name"), str):
                bad(f"{path}/package/name", "is required")
        if has_top_severity and entry.get("severity"):
            bad(f"{path}/severity", "must be absent when the top-level severity is given")
        _osv_severity(entry.get("severity"), f"{path}/severity", bad)
        for j, range_ in enumerate(entry.get("ranges") or []):
            _osv_range(range_, f"{path}/ranges/{j}", bad)
    for i, ref in enumerate(doc.get("references") or []):
        if not isinstance(ref, dict) or ref.get("type") not in OSV_REFERENCE_TYPES:
            bad(f"/references/{i}/type", "is not an OSV reference type")
        if not isinstance(ref, dict) or not URL.match(str(ref.get("url", ""))):
            bad(f"/references/{i}/url", "is not a URL")
    for i, credit in enumerate(doc.get("credits") or []):
        if not isinstance(credit, dict) or not isinstance(credit.get("name"), str):
            bad(f"/credits/{i}/name", "is required")
        elif "type" in credit and credit["type"] not in OSV_CREDIT_TYPES:
            bad(f"/credits/{i}/type", "is not an OSV credit type")
    if "database_specific" in doc and not isinstance(doc["database_specific"], dict):
        bad("/database_specific", "must be an object")
    return problems


def _osv_severity(value: Any, path: str, bad: Any) -> None:
    if value is None:
        return
    if not isinstance(value, list):
        bad(path, "must be a list")
        return
    parsers: dict[str, Any] = {"CVSS_V2": CVSS2, "CVSS_V3": CVSS3, "CVSS_V4": CVSS4}
    for i, item in enumerate(value):
        kind = item.get("type") if isinstance(item, dict) else None
        score = item.get("score") if isinstance(item, dict) else None
        if kind == "Ubuntu":
            if score not in {"negligible", "low", "medium", "high", "critical"}:
                bad(f"{path}/{i}/score", "is not an Ubuntu priority")
            continue
        if kind not in parsers or not isinstance(score, str):
            bad(f"{path}/{i}", "needs a type (CVSS_V2, CVSS_V3, CVSS_V4) and a score")
            continue
        prefix = {"CVSS_V3": ("CVSS:3.0/", "CVSS:3.1/"), "CVSS_V4": ("CVSS:4.0/",)}.get(kind)
        try:
            if prefix and not score.startswith(prefix):
                raise CVSSError(f"a {kind} vector starts with {prefix[-1]}")
            parsers[kind](score)
        except CVSSError as exc:
            bad(f"{path}/{i}/score", f"invalid vector: {exc}")


def _osv_range(range_: Any, path: str, bad: Any) -> None:
    if not isinstance(range_, dict) or range_.get("type") not in {"GIT", "SEMVER", "ECOSYSTEM"}:
        bad(f"{path}/type", "must be GIT, SEMVER or ECOSYSTEM")
        return
    events = range_.get("events")
    if not isinstance(events, list) or not events:
        bad(f"{path}/events", "needs at least one event")
        return
    kinds: set[str] = set()
    for k, event in enumerate(events):
        if not isinstance(event, dict) or len(event) != 1:
            bad(
                f"{path}/events/{k}",
                "must hold exactly one of introduced, fixed, last_affected, limit",
            )
            continue
        kind, value = next(iter(event.items()))
        if kind not in {"introduced", "fixed", "last_affected", "limit"} or not isinstance(
            value, str
        ):
            bad(f"{path}/events/{k}", f"{kind!r} is not an event")
            continue
        kinds.add(kind)
        if range_["type"] == "GIT" and not GIT_HASH.match(value):
            bad(f"{path}/events/{k}", "GIT events need full commit hashes")
    if "introduced" not in kinds:
        bad(f"{path}/events", "must contain an introduced event")
    if {"fixed", "last_affected"} <= kinds:
        bad(f"{path}/events", "fixed and last_affected are mutually exclusive")
    if range_["type"] == "GIT" and not range_.get("repo"):
        bad(f"{path}/repo", "GIT ranges need a repo")


def _osv_plain(error: SchemaError) -> str:
    """The schema's verdict in plain words where its own message is a long pattern."""
    field = error.absolute_path[-1] if error.absolute_path else ""
    if error.validator == "pattern" and field == "id":
        return (
            f"{error.instance!r} does not start with a prefix the OSV schema admits "
            "(a database registered with OSV, or x_ for a local one): see "
            "HERALD_OSV_ID_PREFIX"
        )
    if error.validator == "pattern" and field == "ecosystem":
        return f"{error.instance!r} is not one of the ecosystems the OSV schema lists"
    if error.validator == "pattern" and isinstance(error.instance, str):
        return f"{error.instance!r} is not in the form the OSV schema requires"
    if error.validator == "format":
        return f"{error.instance!r} is not a valid {error.validator_value} (OSV schema format)"
    return error.message[:300]


# --- CSAF ---------------------------------------------------------------------------

CSAF_DOCUMENT_FIELDS = {
    "acknowledgments", "aggregate_severity", "category", "csaf_version", "distribution", "lang",
    "notes", "publisher", "references", "source_lang", "title", "tracking",
}  # fmt: skip
CSAF_TOP_FIELDS = {"$schema", "document", "product_tree", "vulnerabilities"}
CSAF_VULNERABILITY_FIELDS = {
    "acknowledgments", "cve", "cwe", "discovery_date", "flags", "ids", "involvements", "notes",
    "product_status", "references", "release_date", "remediations", "scores", "threats", "title",
}  # fmt: skip
CSAF_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def csaf_problems(doc: Any) -> list[str]:
    """The CSAF 2.0 structure Herald relies on, then the mandatory tests (section 6.1)."""
    from herald.publishing.render.csaf_checks import run_mandatory_tests

    if not isinstance(doc, dict):
        return ["/: a CSAF document is a JSON object"]
    problems: list[str] = []
    for key in set(doc) - CSAF_TOP_FIELDS:
        problems.append(f"/{key}: is not a CSAF property")
    document = doc.get("document")
    if not isinstance(document, dict):
        return [*problems, "/document: is required"]
    for key in set(document) - CSAF_DOCUMENT_FIELDS:
        problems.append(f"/document/{key}: is not a CSAF property")
    for key in ("category", "csaf_version", "publisher", "title", "tracking"):
        if key not in document:
            problems.append(f"/document/{key}: is required")
    if document.get("csaf_version") != "2.0":
        problems.append("/document/csaf_version: must be 2.0")
    publisher = document.get("publisher") or {}
    if publisher.get("category") not in {
        "coordinator", "discoverer", "other", "translator", "user", "vendor"
    }:  # fmt: skip
        problems.append("/document/publisher/category: is not a CSAF publisher category")
    tracking = document.get("tracking") or {}
    if tracking.get("status") not in {"draft", "final", "interim"}:
        problems.append("/document/tracking/status: must be draft, final or interim")
    for key in ("current_release_date", "initial_release_date"):
        if not CSAF_TIMESTAMP.match(str(tracking.get(key, ""))):
            problems.append(f"/document/tracking/{key}: needs an RFC 3339 date-time")
    if not tracking.get("revision_history"):
        problems.append("/document/tracking/revision_history: needs at least one entry")
    tlp = ((document.get("distribution") or {}).get("tlp") or {}).get("label")
    if tlp is not None and tlp not in {"AMBER", "GREEN", "RED", "WHITE"}:
        problems.append("/document/distribution/tlp/label: is not a CSAF 2.0 TLP label")
    for i, vuln in enumerate(doc.get("vulnerabilities") or []):
        for key in set(vuln) - CSAF_VULNERABILITY_FIELDS:
            problems.append(f"/vulnerabilities/{i}/{key}: is not a CSAF property")
    problems += [f"{f.path}: {f.test} {f.message}" for f in run_mandatory_tests(doc)]
    return problems
