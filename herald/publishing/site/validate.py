"""Re-validating every stored artifact: what ``herald validate`` runs.

Publication validates each document as it is rendered; this checks the whole
stored surface afterwards, as a consumer would see it: each OSV, CSAF and CVE
document against its validator (the CSAF mandatory tests included; OpenVEX by the
statement rules, CycloneDX VEX by cyclonedx-python-lib's strict validator), the CSAF
hashes and signatures against the documents, the indexes and feeds against the
files they list, the provider metadata against its schema's rules, security.txt's
fields, and that every public advisory has its documents.

Where consumers run a validator of their own, this runs the same one or its rules:
the official OSV schema (shipped with Herald) with its formats, cvelib's CVE
schemas, and for CSAF csaf-validator-lib itself when Node.js and the library are
installed (``herald.publishing.render.csaf_validator``; the report says when it is not).
Feeds must parse as XML; a signed security.txt must be ASCII (sectxt refuses more).

``validate_artifacts`` returns ``"path: problem"`` lines, empty when all is well.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import ipaddress
import json
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pysequoia as pgp
from django.db.models import Count
from django.utils import timezone

from herald.advisories.models import Advisory
from herald.advisories.queries import PUBLIC_STATES, cve_ids_of
from herald.core.errors import HeraldError
from herald.publishing.models import Artifact, SigningKey
from herald.publishing.render import csaf_validator
from herald.publishing.render.csaf import vex_identifier
from herald.publishing.render.cyclonedx_vex import cyclonedx_problems
from herald.publishing.render.osv import osv_id_list
from herald.publishing.render.publisher import Publisher, csaf_filename
from herald.publishing.render.schemas import (
    cna_container_problems,
    csaf_problems,
    cve_record_problems,
    osv_schema_problems,
    rejected_container_problems,
)
from herald.publishing.render.securitytxt import parse_security_txt
from herald.publishing.render.vex import cyclonedx_path, openvex_path
from herald.publishing.site.surfaces import site_publisher
from herald.publishing.site.surfaces_csaf import (
    CHANGES,
    FEED,
    INDEX,
    PROVIDER_METADATA,
    TLP_DIR,
    provider_metadata_problems,
    relative_path,
)
from herald.publishing.site.surfaces_vex import openvex_problems
from herald.publishing.store import signing
from herald.publishing.store.artifacts import read_many

OSV_DOC = re.compile(r"^osv/([^/]+)\.json$")
CSAF_DOC = re.compile(r"^\.well-known/csaf/white/\d{4}/[^/]+\.json$")
CVE_RECORD = re.compile(r"^cve/(CVE-\d{4}-\d{4,19})\.json$")
CVE_CONTAINER = re.compile(r"^cve/(CVE-\d{4}-\d{4,19})\.cna\.json$")
SECURITY_TXT = ".well-known/security.txt"
OPENVEX_DOC = re.compile(r"^vex/[^/]+\.openvex\.json$")
CYCLONEDX_DOC = re.compile(r"^vex/[^/]+\.cdx\.json$")
ATOM_OR_RSS = re.compile(r"^security/advisories/(products/[^/]+/)?feed\.(atom|rss)$")


@dataclass
class Report:
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    # What could not be checked here, and why (e.g. csaf-validator-lib not installed).
    notes: list[str] = field(default_factory=list)

    def add(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")


def _local(publisher: Publisher, url: str) -> str | None:
    """The artifact path of one of the site's own URLs; None for other sites."""
    prefix = publisher.namespace + "/"
    return url[len(prefix) :] if url.startswith(prefix) else None


def validate_artifacts() -> Report:
    publisher = site_publisher()
    files = dict(read_many(Artifact.objects.all()))
    report = Report(checked=len(files))
    keys = list(SigningKey.objects.all())
    trial = _trial_desk(publisher.namespace)
    plain_http = []
    for path, content in sorted(files.items()):
        for message in _check(path, content, files, publisher, bool(keys)):
            if trial and path == SECURITY_TXT and message.endswith(NOT_HTTPS):
                plain_http.append(message.split(":", 1)[0])
                continue
            report.add(path, message)
    if plain_http:
        report.notes.append(
            f"{SECURITY_TXT} names http:// URIs ({', '.join(plain_http)}) because the desk is "
            f"served at {publisher.namespace}, on this machine only; RFC 9116 wants https. "
            "Set HERALD_BASE_URL to the https address the public reaches before going live."
        )
    _check_csaf_with_validator_lib(files, report)
    _check_coverage(files, publisher, report)
    return report


NOT_HTTPS = "is not https (RFC 9116 2.3: web URIs use https)"


def _trial_desk(base_url: str) -> bool:
    """A desk served on this machine only (``make run``): nobody else reads its files."""
    host = (urlsplit(base_url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_csaf_with_validator_lib(files: dict[str, bytes], report: Report) -> None:
    """The CSAF documents through csaf-validator-lib, as consumers check them."""
    documents = {}
    for path, content in files.items():
        if CSAF_DOC.match(path):
            doc, errors = _problems_of(content)
            if not errors:
                documents[path] = doc
    if not documents:
        return
    why = csaf_validator.unavailable()
    if why:
        report.notes.append(f"CSAF documents were checked by Herald's own rules only: {why}.")
        return
    try:
        results = csaf_validator.validate_many(documents)
    except HeraldError as exc:
        report.notes.append(f"CSAF documents were checked by Herald's own rules only: {exc}")
        return
    for path in sorted(documents):
        for message in results.get(path, []):
            report.add(path, f"csaf-validator-lib: {message}")


def _check(
    path: str, content: bytes, files: dict[str, bytes], publisher: Publisher, signed: bool
) -> Iterator[str]:
    if match := OSV_DOC.match(path):
        yield from _check_osv(match.group(1), content, files, publisher)
    elif path == "osv/all.zip":
        yield from _check_osv_zip(content, files, publisher)
    elif path == "osv/modified_id.csv":
        yield from _check_modified(content, files)
    elif CSAF_DOC.match(path):
        yield from _check_csaf(path, content, files, signed)
    elif path == PROVIDER_METADATA:
        yield from _check_provider(content, files, publisher)
    elif path == FEED:
        yield from _check_feed(content, files, publisher)
    elif path in (INDEX, CHANGES):
        yield from _check_listing(path, content, files)
    elif match := CVE_RECORD.match(path):
        yield from _check_cve(match.group(1), content)
    elif match := CVE_CONTAINER.match(path):
        yield from _check_container(content)
    elif path == SECURITY_TXT:
        yield from _check_security_txt(content, files, publisher)
    elif ATOM_OR_RSS.match(path):
        yield from _check_xml(content)
    elif OPENVEX_DOC.match(path):
        yield from _check_json(content, openvex_problems)
    elif CYCLONEDX_DOC.match(path):
        yield from _check_json(content, cyclonedx_problems)


def _check_json(content: bytes, problems: Callable[[dict[str, Any]], list[str]]) -> Iterator[str]:
    doc, errors = _problems_of(content)
    yield from errors
    if isinstance(doc, dict):
        yield from problems(doc)
    elif doc is not None:
        yield "not a JSON object"


def _check_xml(content: bytes) -> Iterator[str]:
    try:
        ET.fromstring(content)  # noqa: S314  our own stored feed, parsed to check it
    except ET.ParseError as exc:
        yield f"not well-formed XML, feed readers will refuse it: {exc}"


def _problems_of(content: bytes) -> tuple[Any, list[str]]:
    try:
        return json.loads(content), []
    except (ValueError, UnicodeDecodeError) as exc:
        return None, [f"not JSON: {exc}"]


def _check_osv(
    name: str, content: bytes, files: dict[str, bytes], publisher: Publisher
) -> Iterator[str]:
    doc, errors = _problems_of(content)
    yield from errors
    if doc is None:
        return
    yield from osv_schema_problems(doc, registered=not publisher.osv_id_prefix)
    osv_id = doc.get("id") if isinstance(doc, dict) else None
    if osv_id == name:
        return
    if osv_id == publisher.osv_id(name):
        # The document's former address (before OSV ids took a prefix): same bytes.
        if files.get(f"osv/{osv_id}.json") != content:
            yield f"differs from osv/{osv_id}.json, the document it stands for"
        return
    yield f"/id: {osv_id!r} is not the file's name {name!r}"


def _check_osv_zip(content: bytes, files: dict[str, bytes], publisher: Publisher) -> Iterator[str]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        members = {name: archive.read(name) for name in archive.namelist()}
    except (zipfile.BadZipFile, OSError) as exc:
        yield f"not a readable zip archive: {exc}"
        return
    docs = {m.group(1): files[p] for p in files if (m := OSV_DOC.match(p))}
    for name in list(docs):  # copies at the documents' former addresses are not listed
        if publisher.osv_id(name) != name and publisher.osv_id(name) in docs:
            del docs[name]
    for name, data in sorted(members.items()):
        identifier = name.removesuffix(".json")
        if identifier not in docs:
            yield f"{name}: no osv/{name} beside the archive"
        elif docs[identifier] != data:
            yield f"{name}: differs from osv/{name}"
    for identifier in sorted(set(docs) - {n.removesuffix(".json") for n in members}):
        yield f"{identifier}.json: missing from the archive"


def _check_modified(content: bytes, files: dict[str, bytes]) -> Iterator[str]:
    previous = None
    for number, row in enumerate(csv.reader(io.StringIO(content.decode("utf-8"))), start=1):
        if len(row) != 2:
            yield f"line {number}: expected <modified>,<id>"
            continue
        modified, identifier = row
        doc_bytes = files.get(f"osv/{identifier}.json")
        if doc_bytes is None:
            yield f"line {number}: no osv/{identifier}.json"
            continue
        doc = json.loads(doc_bytes)
        if doc.get("modified") != modified:
            yield f"line {number}: {identifier} was modified {doc.get('modified')}, not {modified}"
        if previous is not None and modified > previous:
            yield f"line {number}: not newest first"
        previous = modified


def _check_csaf(path: str, content: bytes, files: dict[str, bytes], signed: bool) -> Iterator[str]:
    doc, errors = _problems_of(content)
    yield from errors
    if doc is None:
        return
    yield from csaf_problems(doc)
    name = path.rsplit("/", 1)[1]
    tracking_id = str(((doc.get("document") or {}).get("tracking") or {}).get("id", ""))
    if csaf_filename(tracking_id) != name:
        yield f"file name {name} is not {csaf_filename(tracking_id)} (CSAF 2.0 section 5.1)"
    for algorithm in ("sha256", "sha512"):
        hashed = files.get(f"{path}.{algorithm}")
        if hashed is None:
            yield f"no .{algorithm} file (CSAF 7.1.18)"
        elif hashed.decode().split()[:1] != [hashlib.new(algorithm, content).hexdigest()]:
            yield f".{algorithm} does not match the document"
    signature = files.get(f"{path}.asc")
    if signature is None:
        if signed:
            yield "no .asc signature (CSAF 7.1.19)"
        return
    try:
        signing.verify_detached(content, signature.decode())
    except HeraldError as exc:
        yield f".asc: {exc}"


def _check_provider(content: bytes, files: dict[str, bytes], publisher: Publisher) -> Iterator[str]:
    doc, errors = _problems_of(content)
    yield from errors
    if doc is None:
        return
    yield from provider_metadata_problems(doc)
    urls = [k.get("url", "") for k in doc.get("public_openpgp_keys") or [] if isinstance(k, dict)]
    for dist in doc.get("distributions") or []:
        urls += [f.get("url", "") for f in (dist.get("rolie") or {}).get("feeds") or []]
    for url in urls:
        local = _local(publisher, url)
        if local is not None and local not in files:
            yield f"{url} is not published"
    if doc.get("role") == "csaf_trusted_provider" and not doc.get("public_openpgp_keys"):
        yield "/public_openpgp_keys: a trusted provider publishes its keys (CSAF 7.1.20)"


def _check_feed(content: bytes, files: dict[str, bytes], publisher: Publisher) -> Iterator[str]:
    doc, errors = _problems_of(content)
    yield from errors
    if doc is None:
        return
    feed = doc.get("feed") if isinstance(doc, dict) else None
    if not isinstance(feed, dict) or not isinstance(feed.get("entry"), list):
        yield "/feed/entry: a ROLIE feed lists its entries"
        return
    for i, entry in enumerate(feed["entry"]):
        for link in entry.get("link") or []:
            local = _local(publisher, str(link.get("href", "")))
            if local is not None and local not in files:
                yield f"/feed/entry/{i}/link: {link.get('href')} is not published"


def _check_listing(path: str, content: bytes, files: dict[str, bytes]) -> Iterator[str]:
    text = content.decode("utf-8")
    rows = (
        [row[0] for row in csv.reader(io.StringIO(text)) if row]
        if path == CHANGES
        else [line for line in text.splitlines() if line]
    )
    for number, relative in enumerate(rows, start=1):
        if TLP_DIR + relative not in files:
            yield f"line {number}: {relative} is not published"


def _check_cve(cve_id: str, content: bytes) -> Iterator[str]:
    doc, errors = _problems_of(content)
    yield from errors
    if doc is None:
        return
    yield from cve_record_problems(doc)
    if ((doc.get("cveMetadata") or {}).get("cveId")) != cve_id:
        yield "/cveMetadata/cveId: is not the file's name"


def _check_container(content: bytes) -> Iterator[str]:
    doc, errors = _problems_of(content)
    yield from errors
    if doc is None:
        return
    if isinstance(doc, dict) and "rejectedReasons" in doc:
        yield from rejected_container_problems(doc)
    else:
        yield from cna_container_problems(doc)


def _check_security_txt(
    content: bytes, files: dict[str, bytes], publisher: Publisher
) -> Iterator[str]:
    text = content.decode("utf-8", errors="replace")
    fields = parse_security_txt(text)
    if not fields.get("contact"):
        yield "Contact: is required (RFC 9116 2.5.3)"
    expires = fields.get("expires") or []
    if len(expires) != 1:
        yield "Expires: must appear exactly once (RFC 9116 2.5.5)"
    else:
        try:
            when = dt.datetime.fromisoformat(expires[0].replace("Z", "+00:00"))
        except ValueError:
            yield f"Expires: {expires[0]!r} is not an RFC 3339 date-time"
        else:
            now = timezone.now()
            if when <= now:
                yield f"Expires: {expires[0]} is in the past"
            elif when > now + dt.timedelta(days=366):
                yield f"Expires: {expires[0]} is more than a year ahead"
    for name, values in sorted(fields.items()):
        for value in values:
            if value.startswith("http://"):
                yield f"{name.title()}: {value} {NOT_HTTPS}"
    for url in fields.get("csaf", []):
        local = _local(publisher, url)
        if not url.endswith("/provider-metadata.json"):
            yield f"CSAF: {url} is not a provider-metadata.json"
        elif local is not None and local not in files:
            yield f"CSAF: {url} is not published"
    if text.startswith("-----BEGIN PGP SIGNED MESSAGE-----"):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.isascii():
                yield (
                    f"line {number}: a non-ASCII character in the signed text; security.txt "
                    "parsers (sectxt) cannot read the signed block then"
                )
                break
        certs = [pgp.Cert.from_bytes(k.public_key.encode()) for k in SigningKey.objects.all()]
        try:
            result = pgp.verify(bytes=content, store=lambda ids: certs)
        except Exception as exc:  # pysequoia raises plain exceptions with Sequoia's message
            yield f"signature does not verify: {exc}"
        else:
            if not result.valid_sigs:
                yield "signature does not verify with any known key"


def _check_coverage(files: dict[str, bytes], publisher: Publisher, report: Report) -> None:
    """Every public advisory has its OSV and CSAF documents, its OpenVEX and CycloneDX
    documents when it has product rows (``has_vex``), and CVE records for a CNA."""
    rows = list(
        Advisory.objects.filter(state__in=PUBLIC_STATES)
        .annotate(
            vulnerability_count=Count("vulnerabilities", distinct=True),
            row_count=Count("affected", distinct=True),
        )
        .values_list(
            "pk", "identifier", "published_at", "updated_at", "vulnerability_count", "row_count"
        )
    )
    cves = cve_ids_of(row[0] for row in rows)
    for pk, identifier, published, updated, count, product_rows in rows:
        cve_ids = cves[pk]
        expected = [
            *(f"osv/{osv_id}.json" for osv_id in osv_id_list(identifier, count, publisher)),
            TLP_DIR + relative_path(identifier, published or updated),
            TLP_DIR + relative_path(vex_identifier(identifier), published or updated),
        ]
        if product_rows and count:  # has_vex: a row holds for some vulnerability
            expected += [openvex_path(identifier), cyclonedx_path(identifier)]
        if publisher.can_publish_cve:
            expected += [f"cve/{cve}.json" for cve in cve_ids or []]
        for path in expected:
            if path not in files:
                report.add(path, f"missing: {identifier} is public but this file is not")
