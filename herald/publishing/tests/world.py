"""The validators Herald's consumers run, on everything a desk publishes.

``check_desk_outputs()`` reads every stored artifact of the desk (what the site
serves) and hands each file to the tool a consumer would use on it:

- CSAF 2.0 documents: csaf-validator-lib (npm ``@secvisogram/csaf-validator-lib``),
  ``validateStrict`` with the schema tests and every mandatory test, all documents in
  one node process (``herald.publishing.render.csaf_validator``);
- the CSAF provider metadata: the official provider schema (``../shared/schemas/csaf``);
- OSV documents: the official OSV schema as ossf/osv-schema publishes it
  (``../shared/schemas/osv``), ``format`` checked by jsonschema's format checker;
- CVE records and CNA containers: the CVE 5 schemas cvelib ships;
- security.txt: ``sectxt``, the parser behind internet.nl's check;
- Atom and RSS feeds: a raw XML parse, then ``feedparser``;
- OpenVEX documents: the official OpenVEX JSON schema (``validators/openvex``);
- CycloneDX VEX documents: cyclonedx-python-lib's strict 1.6 validator.

Each failure is a ``Problem`` (validator, artifact path, message); a test calls it
after building any data set and asserts the list is empty. Without node or the
installed library the CSAF check skips the test, except in CI
(``CI``/``HERALD_REQUIRE_SERVICES=1``) where it fails it.
"""

from __future__ import annotations

import functools
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import feedparser
import sectxt
from jsonschema import Draft7Validator, Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError

from herald.publishing.models import Artifact
from herald.publishing.render import csaf_validator
from herald.publishing.render.cyclonedx_vex import cyclonedx_problems
from herald.publishing.store.artifacts import read_many
from herald.test import shared_path, unavailable

CSAF_DOCUMENT = re.compile(r"^\.well-known/csaf/white/\d{4}/[^/]+\.json$")
PROVIDER_METADATA = ".well-known/csaf/provider-metadata.json"
OSV_DOCUMENT = re.compile(r"^osv/[^/]+\.json$")
CVE_RECORD = re.compile(r"^cve/CVE-\d{4}-\d+\.json$")
CVE_CONTAINER = re.compile(r"^cve/CVE-\d{4}-\d+\.cna\.json$")
SECURITY_TXT = ".well-known/security.txt"
FEED = re.compile(r"^security/advisories/(products/[^/]+/)?feed\.(atom|rss)$")
OPENVEX = re.compile(r"^vex/[^/]+\.openvex\.json$")
CYCLONEDX = re.compile(r"^vex/[^/]+\.cdx\.json$")
OPENVEX_SCHEMA = Path(__file__).parent / "validators" / "openvex" / "openvex_json_schema.json"


@dataclass(frozen=True)
class Problem:
    validator: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: [{self.validator}] {self.message}"


def require_csaf_validator() -> None:
    """Skip without node and csaf-validator-lib; in CI their absence is a failure."""
    why = csaf_validator.unavailable()
    if why:
        unavailable(why)


def check_desk_outputs() -> list[Problem]:
    """Every stored artifact through the validator its consumers run; [] when all pass."""
    files = dict(read_many(Artifact.objects.all()))
    print("files checked by the consumers' validators:", kinds_checked(files))  # with -s
    return check_files(files)


def kinds_checked(files: dict[str, bytes]) -> dict[str, int]:
    """How many files of each kind ``check_files`` hands to a validator (for the README)."""
    kinds = {
        "CSAF (csaf-validator-lib)": CSAF_DOCUMENT,
        "OSV (official schema)": OSV_DOCUMENT,
        "CVE records (cvelib's schemas)": CVE_RECORD,
        "CVE CNA containers (cvelib's schemas)": CVE_CONTAINER,
        "Atom and RSS (XML, feedparser)": FEED,
        "OpenVEX (official schema)": OPENVEX,
        "CycloneDX VEX (cyclonedx-python-lib)": CYCLONEDX,
    }
    counts = {name: sum(1 for p in files if rx.match(p)) for name, rx in kinds.items()}
    counts["security.txt (sectxt)"] = int(SECURITY_TXT in files)
    counts["CSAF provider metadata (schema)"] = int(PROVIDER_METADATA in files)
    return counts


def check_files(files: dict[str, bytes]) -> list[Problem]:
    problems: list[Problem] = []
    csaf_documents: dict[str, Any] = {}
    for path, content in sorted(files.items()):
        if CSAF_DOCUMENT.match(path):
            csaf_documents[path] = _json(path, content, problems)
        elif path == PROVIDER_METADATA:
            problems += _schema("csaf-provider-schema", path, content, _provider_validator())
        elif OSV_DOCUMENT.match(path):
            problems += _schema("osv-schema", path, content, _osv_validator())
        elif CVE_RECORD.match(path):
            problems += _schema("cve-schema", path, content, _cve_validator("bundled"))
        elif CVE_CONTAINER.match(path):
            problems += _cve_container(path, content)
        elif path == SECURITY_TXT:
            problems += _security_txt(content)
        elif FEED.match(path):
            problems += _feed(path, content)
        elif OPENVEX.match(path):
            problems += _schema("openvex-schema", path, content, openvex_validator())
        elif CYCLONEDX.match(path):
            problems += _cyclonedx(path, content)
    problems += _csaf(csaf_documents)
    return problems


def _json(path: str, content: bytes, problems: list[Problem]) -> Any:
    try:
        return json.loads(content)
    except ValueError as exc:
        problems.append(Problem("json", path, f"not JSON: {exc}"))
        return None


def _csaf(documents: dict[str, Any]) -> list[Problem]:
    documents = {path: doc for path, doc in documents.items() if doc is not None}
    if not documents:
        return []
    require_csaf_validator()
    results = csaf_validator.validate_many(documents)
    return [
        Problem("csaf-validator-lib", path, message)
        for path in documents
        for message in results.get(path, ["no result from csaf-validator-lib"])
    ]


# --- JSON schemas -------------------------------------------------------------------


@functools.cache
def _osv_validator() -> Draft202012Validator:
    schema = json.loads(shared_path("schemas", "osv", "schema.json").read_text("utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@functools.cache
def _provider_validator() -> Draft202012Validator:
    path = shared_path("schemas", "csaf", "provider_json_schema.json")
    schema = json.loads(path.read_text("utf-8"))
    # The provider schema refers to the CSAF schema by its URL; it sits beside it.
    csaf = json.loads(path.with_name("csaf_json_schema.json").read_text("utf-8"))
    from referencing import Registry, Resource

    registry: Registry = Registry().with_resource(csaf["$id"], Resource.from_contents(csaf))
    return Draft202012Validator(
        schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


@functools.cache
def openvex_validator() -> Draft202012Validator:
    schema = json.loads(OPENVEX_SCHEMA.read_text("utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _cyclonedx(path: str, content: bytes) -> list[Problem]:
    problems: list[Problem] = []
    doc = _json(path, content, problems)
    if doc is None:
        return problems
    return [Problem("cyclonedx-python-lib", path, p) for p in cyclonedx_problems(doc)]


@functools.cache
def _cve_validator(name: str) -> Draft7Validator:
    text = (
        resources.files("cvelib")
        .joinpath("schemas", f"CVE_JSON_{name}_5.1.1.json")
        .read_text(encoding="utf-8")
    )
    return Draft7Validator(json.loads(text), format_checker=Draft7Validator.FORMAT_CHECKER)


def _schema(name: str, path: str, content: bytes, validator: Any) -> list[Problem]:
    problems: list[Problem] = []
    doc = _json(path, content, problems)
    if doc is None:
        return problems
    for error in validator.iter_errors(doc):
        problems.append(Problem(name, path, _message(error)))
    return problems


def _message(error: SchemaError) -> str:
    where = "/" + "/".join(str(p) for p in error.absolute_path)
    return f"{where}: {error.message[:300]}"


def _cve_container(path: str, content: bytes) -> list[Problem]:
    problems: list[Problem] = []
    doc = _json(path, content, problems)
    if doc is None:
        return problems
    rejected = isinstance(doc, dict) and "rejectedReasons" in doc
    name = "cnaRejectedContainer" if rejected else "cnaPublishedContainer"
    return _schema("cve-schema", path, content, _cve_validator(name))


# --- security.txt and feeds ---------------------------------------------------------


def _security_txt(content: bytes) -> list[Problem]:
    parser = sectxt.Parser(content)
    return [
        Problem("sectxt", SECURITY_TXT, f"{e['code']}: {e['message']} (line {e['line']})")
        for e in parser.errors
    ]


def _feed(path: str, content: bytes) -> list[Problem]:
    problems: list[Problem] = []
    try:
        root = ET.fromstring(content)
    except ET.ParseError as exc:
        return [Problem("xml", path, f"not well-formed XML: {exc}")]
    expected = "{http://www.w3.org/2005/Atom}feed" if path.endswith(".atom") else "rss"
    if root.tag != expected:
        problems.append(Problem("xml", path, f"root element is {root.tag}, not {expected}"))
    parsed = feedparser.parse(content)
    if parsed.bozo:
        problems.append(Problem("feedparser", path, f"{parsed.bozo_exception}"))
    wanted = "atom10" if path.endswith(".atom") else "rss20"
    if parsed.version != wanted:
        problems.append(Problem("feedparser", path, f"read as {parsed.version!r}, not {wanted}"))
    for number, entry in enumerate(parsed.entries):
        for key in ("title", "link", "id" if wanted == "atom10" else "link"):
            if not entry.get(key):
                problems.append(Problem("feedparser", path, f"entry {number} has no {key}"))
    return problems
