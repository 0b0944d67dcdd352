"""The CSAF 2.0 trusted provider: documents, hashes, signatures and the provider files.

Layout under ``/.well-known/csaf/`` (CSAF 2.0 section 7.1):

- ``provider-metadata.json`` (7.1.7), naming the directory, the ROLIE feed and the
  public OpenPGP keys;
- ``white/<year>/<id>.json`` (7.1.11; lower-case names by 5.1), and beside it the
  same advisory in the VEX profile, ``white/<year>/<id>-vex.json`` (tracking id
  ``<ID>-VEX``, so its file name follows 5.1 too; the directory, index, changes and
  ROLIE feed list it as one more CSAF document of the TLP:WHITE distribution), each with
  ``.sha256`` and ``.sha512`` (7.1.18, ``sha256sum`` format) and a detached
  OpenPGP ``.asc`` (7.1.19);
- ``white/index.txt`` and ``white/changes.csv`` (7.1.12, 7.1.13), paths relative
  to ``white/``, changes newest first;
- ``feed-tlp-white.json``: the ROLIE feed (7.1.15);
- ``openpgp/<FINGERPRINT>.asc``: every signing key, retired ones too, so older
  signatures still verify (7.1.20).

CSAF 2.0 uses TLP 1.0: public documents are WHITE (TLP 2.0's CLEAR).

Every document passes the structure checks and the mandatory tests (section 6.1)
before it is stored; a failure refuses the publication naming the advisory field.
A revision, a withdrawal included, renders a new document version: its revision
history comes from the advisory's revisions.

Signatures are not deterministic, so an unchanged document keeps its stored
``.asc``: exporting again rewrites only what changed. Without a signing key
(before ``herald setup``), documents go out unsigned and the provider calls itself
``csaf_provider`` rather than ``csaf_trusted_provider``, which requires signatures.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import operator
import re
from collections.abc import Iterator
from json.encoder import encode_basestring
from typing import Any, NamedTuple

from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce

from herald.advisories.models import Advisory, Revision
from herald.advisories.queries import PUBLIC_STATES
from herald.advisories.snapshot import AdvisorySnapshot
from herald.core.caches import ProcessCache
from herald.core.dbfunctions import UtcText
from herald.core.models import VendorProfile
from herald.publishing.models import SigningKey
from herald.publishing.render.csaf import render_csaf, render_csaf_vex, vex_identifier
from herald.publishing.render.publisher import (
    Publisher,
    csaf_filename,
    json_bytes,
    utc,
    utc_datetime,
)
from herald.publishing.render.schemas import csaf_problems
from herald.publishing.site.surfaces import (
    CSV,
    JSON,
    PGP_KEYS,
    PGP_SIGNATURE,
    TEXT,
    refuse,
    site_publisher,
)
from herald.publishing.store import signing
from herald.publishing.store.artifacts import (
    BuildContext,
    Rendered,
    advisory_builder,
    read_one,
    site_builder,
    warmer,
)

ROOT = ".well-known/csaf/"
TLP_DIR = f"{ROOT}white/"
PROVIDER_METADATA = f"{ROOT}provider-metadata.json"
FEED = f"{ROOT}feed-tlp-white.json"
INDEX = f"{TLP_DIR}index.txt"
CHANGES = f"{TLP_DIR}changes.csv"
KEYS_DIR = f"{ROOT}openpgp/"
CSAF_SCHEMA_URL = "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json"
PUBLISHER_CATEGORIES = {"coordinator", "discoverer", "other", "translator", "user", "vendor"}
ROLES = {"csaf_publisher", "csaf_provider", "csaf_trusted_provider"}
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$")


def relative_path(identifier: str, released: dt.datetime | None) -> str:
    """The document's path under ``white/``: ``<year>/<lower-case id>.json``."""
    year = released.year if released else 0
    return f"{year}/{csaf_filename(identifier)}"


def document_path(snapshot: AdvisorySnapshot) -> str:
    return TLP_DIR + relative_path(
        snapshot.identifier, snapshot.published_at or snapshot.updated_at
    )


def hash_line(content: bytes, filename: str, algorithm: str) -> bytes:
    """What ``sha256sum`` / ``sha512sum`` print, as CSAF 7.1.18 asks."""
    digest = hashlib.new(algorithm, content).hexdigest()
    return f"{digest}  {filename}\n".encode()


def vex_path(snapshot: AdvisorySnapshot) -> str:
    """The VEX document's path: beside the advisory's, ``<year>/<id>-vex.json``."""
    return TLP_DIR + relative_path(
        vex_identifier(snapshot.identifier), snapshot.published_at or snapshot.updated_at
    )


def render_checked(snapshot: AdvisorySnapshot, publisher: Publisher) -> bytes:
    """The CSAF bytes of ``snapshot``; ``ValidationError`` naming the field if invalid."""
    doc = render_csaf(snapshot, publisher)
    name = csaf_filename(snapshot.identifier)
    refuse("CSAF", f"CSAF {name}", doc, csaf_problems(doc))
    return json_bytes(doc)


def render_vex_checked(snapshot: AdvisorySnapshot, publisher: Publisher) -> bytes | None:
    """The CSAF VEX bytes of ``snapshot`` (None when it states nothing), checked."""
    doc = render_csaf_vex(snapshot, publisher)
    if doc is None:
        return None
    name = csaf_filename(vex_identifier(snapshot.identifier))
    refuse("CSAF", f"CSAF {name}", doc, csaf_problems(doc))
    return json_bytes(doc)


def signature_for(path: str, content: bytes) -> bytes | None:
    """The detached signature of ``content``: the stored one while the bytes are the
    same, a new one otherwise; None without a signing key."""
    if signing.active_key() is None:
        return None
    if read_one(path) == content:
        previous = read_one(path + ".asc")
        if previous is not None:
            return previous
    return signing.sign_detached(content).encode()


@advisory_builder("csaf")
def build_csaf(snapshot: AdvisorySnapshot, context: BuildContext) -> Iterator[Rendered]:
    publisher = site_publisher(context.profile)
    yield from _document_files(document_path(snapshot), render_checked(snapshot, publisher))
    vex = render_vex_checked(snapshot, publisher)
    if vex is not None:
        yield from _document_files(vex_path(snapshot), vex)


def _document_files(path: str, content: bytes) -> Iterator[Rendered]:
    """A CSAF document with its hashes and (with a signing key) its signature."""
    name = path.rsplit("/", 1)[1]
    signature = signature_for(path, content)
    yield Rendered(path, content, JSON)
    yield Rendered(path + ".sha256", hash_line(content, name, "sha256"), TEXT)
    yield Rendered(path + ".sha512", hash_line(content, name, "sha512"), TEXT)
    if signature is not None:
        yield Rendered(path + ".asc", signature, PGP_SIGNATURE)


# --- the provider files -------------------------------------------------------------


class Entry(NamedTuple):
    """One public advisory as the provider files list it (dates as ``utc()`` text).

    A tuple: 10,000 of them are made, hashed and sorted on every publication."""

    identifier: str
    title: str
    path: str  # relative to white/
    initial_utc: str
    current_utc: str


def entries() -> list[Entry]:
    """Every public advisory's CSAF documents (the advisory and its VEX form), newest
    change first (one query).

    The dates come formatted from the database: at 10,000 advisories converting
    them in Python was most of a publication's time in the provider files.
    """
    # The latest revision's time by a correlated lookup in revision_latest_idx: a
    # join grouped by advisory reads every revision row instead.
    latest = (
        Revision.objects.filter(advisory=OuterRef("pk"))
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    rows = (
        Advisory.objects.filter(state__in=PUBLIC_STATES)
        .order_by()
        .annotate(
            initial=UtcText(Coalesce("published_at", "updated_at")),
            current=UtcText(Coalesce(Subquery(latest), "updated_at")),
        )
        .values_list("identifier", "title", "initial", "current")
    )
    known = _entries_of_rows.entries()
    made: dict[tuple[str, str, str, str], tuple[Entry, Entry]] = {}
    for row in rows:
        pair = known.get(row)
        if pair is None:
            identifier, title, initial, current = row
            vex = vex_identifier(identifier)
            # The directory is the year of the first release, as relative_path() names it.
            pair = (
                Entry(identifier, title, f"{initial[:4]}/{csaf_filename(identifier)}",
                      initial, current),
                Entry(vex, f"{title} (VEX)", f"{initial[:4]}/{csaf_filename(vex)}",
                      initial, current),
            )  # fmt: skip
        made[row] = pair
    _entries_of_rows.replace(made)  # only the advisories still public
    listed = [entry for pair in made.values() for entry in pair]
    return sorted(listed, key=_newest_change, reverse=True)


_newest_change = operator.itemgetter(4, 2)  # (current_utc, path)
# Entry of each row of entries()' query, kept between publications (as the texts
# of the ROLIE feed are): a row changes only with its advisory. Measured with
# `bench/caches.py --advisories 500`: entries() 23-28 ms kept, 36-40 ms emptied.
_entries_of_rows: ProcessCache[tuple[str, str, str, str], tuple[Entry, Entry]] = ProcessCache(
    "csaf entries"
)


def key_url(publisher: Publisher, fingerprint: str) -> str:
    return f"{publisher.namespace}/{KEYS_DIR}{fingerprint.upper()}.asc"


def provider_metadata(
    publisher: Publisher, keys: list[SigningKey], last_updated: dt.datetime
) -> dict[str, Any]:
    ns = publisher.namespace
    metadata: dict[str, Any] = {
        "canonical_url": f"{ns}/{PROVIDER_METADATA}",
        "distributions": [
            {
                "directory_url": f"{ns}/{TLP_DIR}",
                "rolie": {
                    "feeds": [
                        {
                            "summary": f"All TLP:WHITE advisories of {publisher.name}.",
                            "tlp_label": "WHITE",
                            "url": f"{ns}/{FEED}",
                        }
                    ]
                },
            }
        ],
        "last_updated": utc(last_updated),
        "list_on_CSAF_aggregators": True,
        "metadata_version": "2.0",
        "mirror_on_CSAF_aggregators": True,
    }
    if keys:
        metadata["public_openpgp_keys"] = [
            {"fingerprint": k.fingerprint.upper(), "url": key_url(publisher, k.fingerprint)}
            for k in keys
        ]
    metadata["publisher"] = {
        "category": publisher.csaf_category,
        "contact_details": publisher.contact,
        "name": publisher.name,
        "namespace": ns,
    }
    # Trusted providers sign every document (7.1.19, 7.1.20).
    metadata["role"] = "csaf_trusted_provider" if keys else "csaf_provider"
    return metadata


def rolie_feed(publisher: Publisher, listed: list[Entry], updated: dt.datetime) -> dict[str, Any]:
    ns = publisher.namespace
    feed_entries = []
    for entry in listed:
        url = f"{ns}/{TLP_DIR}{entry.path}"
        feed_entries.append(
            {
                "id": entry.identifier,
                "title": entry.title,
                "link": [
                    {"rel": "self", "href": url},
                    {"rel": "hash", "href": url + ".sha256"},
                    {"rel": "hash", "href": url + ".sha512"},
                    {"rel": "signature", "href": url + ".asc"},
                ],
                "published": entry.initial_utc,
                "updated": entry.current_utc,
                "content": {"type": "application/json", "src": url},
                "format": {"schema": CSAF_SCHEMA_URL, "version": "2.0"},
            }
        )
    return {
        "feed": {
            "id": f"{publisher.name.lower().replace(' ', '-')}-csaf-feed-tlp-white",
            "title": f"{publisher.name} CSAF feed (TLP:WHITE)",
            "link": [{"rel": "self", "href": f"{ns}/{FEED}"}],
            "category": [
                {"scheme": "urn:ietf:params:rolie:category:information-type", "term": "csaf"}
            ],
            "updated": utc(updated),
            "entry": feed_entries,
        }
    }


# The ROLIE feed lists every advisory: serialising it with ``json.dumps(indent=2)``
# (the pure-Python encoder) took longer than the rest of a publication. The entries
# are written from a template instead, the same bytes as ``json_bytes`` gives for
# ``rolie_feed`` (the tests compare them); the rest of the document is json_bytes'.
_ENTRIES_MARK = "\x00rolie-entries\x00"
_ENTRY_TEMPLATE = """\
      {{
        "id": {id},
        "title": {title},
        "link": [
          {{
            "rel": "self",
            "href": {url}
          }},
          {{
            "rel": "hash",
            "href": {sha256}
          }},
          {{
            "rel": "hash",
            "href": {sha512}
          }},
          {{
            "rel": "signature",
            "href": {asc}
          }}
        ],
        "published": {published},
        "updated": {updated},
        "content": {{
          "type": "application/json",
          "src": {url}
        }},
        "format": {{
          "schema": {schema},
          "version": "2.0"
        }}
      }}"""


def rolie_feed_bytes(publisher: Publisher, listed: list[Entry], updated: dt.datetime) -> bytes:
    """``json_bytes(rolie_feed(publisher, listed, updated))``, fast."""
    return b"".join(rolie_feed_parts(publisher, listed, updated))


def rolie_feed_parts(
    publisher: Publisher, listed: list[Entry], updated: dt.datetime
) -> list[bytes]:
    """``rolie_feed_bytes`` cut into pieces: the head, one per entry, the tail."""
    if not listed:
        return [json_bytes(rolie_feed(publisher, listed, updated))]
    document = rolie_feed(publisher, [], updated)
    document["feed"]["entry"] = _ENTRIES_MARK
    text = json_bytes(document).decode("utf-8")
    mark = json.dumps(_ENTRIES_MARK, ensure_ascii=False)
    if text.count(mark) != 1:  # a title that looks like the mark: the slow way
        return [json_bytes(rolie_feed(publisher, listed, updated))]
    head, tail = text.split(mark)
    base = f"{publisher.namespace}/{TLP_DIR}"
    known = _entry_texts.entries() if _entry_texts.tag == base else {}
    texts: dict[Entry, bytes] = {}
    for entry in listed:
        texts[entry] = known.get(entry) or _entry_text(base, entry)
    _entry_texts.replace(texts, tag=base)  # only the entries still listed
    pieces = [(head + "[\n").encode("utf-8")]
    pieces += [texts[entry] for entry in listed]
    pieces[-1] = pieces[-1][: -len(",\n")] + ("\n    ]" + tail).encode("utf-8")
    return pieces


# Each entry's text (with the comma after it) by entry, tagged with the base URL it
# was written with, kept between publications: an entry changes only with its
# advisory, so a feed of 10,000 is formatted once per process and joined after that.
# Measured with `bench/caches.py --advisories 500`: the feed's parts 0.2 ms kept,
# 11-37 ms emptied. Keyed by the Entry itself, which ``entries()`` keeps between
# publications, not by a new (base, entry) tuple: an Entry is a NamedTuple, which the
# garbage collector never untracks, so each publication left 20,000 new tracked
# tuples behind and a full collection (200-300 ms at 10,000 advisories) ran every
# second publication (gc.callbacks in bench/publish_export.py; docs/publishing.md).
_entry_texts: ProcessCache[Entry, bytes] = ProcessCache("csaf rolie entry texts")


def _entry_text(base: str, entry: Entry) -> bytes:
    quote = encode_basestring
    url = base + entry.path
    text = _ENTRY_TEMPLATE.format(
        id=quote(entry.identifier),
        title=quote(entry.title),
        url=quote(url),
        sha256=quote(url + ".sha256"),
        sha512=quote(url + ".sha512"),
        asc=quote(url + ".asc"),
        published=quote(entry.initial_utc),
        updated=quote(entry.current_utc),
        schema=quote(CSAF_SCHEMA_URL),
    )
    return (text + ",\n").encode("utf-8")


@warmer("csaf-provider")
def _warm_provider(profile: VendorProfile) -> None:
    # Renders the provider files (storing nothing): keeps the entries and feed texts.
    list(build_csaf_provider(BuildContext(profile=profile)))


def changes_csv(listed: list[Entry]) -> bytes:
    return "".join(f'"{e.path}","{e.current_utc}"\n' for e in listed).encode()


def index_txt(listed: list[Entry]) -> bytes:
    return "".join(f"{e.path}\n" for e in sorted(listed, key=lambda e: e.path)).encode()


@site_builder("csaf-provider")
def build_csaf_provider(context: BuildContext) -> Iterator[Rendered]:
    publisher = site_publisher(context.profile)
    listed = entries()
    # Unsigned documents would make a "trusted" claim false: keys only with signatures.
    keys = list(SigningKey.objects.order_by("state", "-created_at"))
    updated = (
        utc_datetime(max(e.current_utc for e in listed)) if listed else context.profile.updated_at
    )
    metadata = provider_metadata(publisher, keys, updated)
    refuse("CSAF", "provider-metadata.json", metadata, provider_metadata_problems(metadata))
    yield Rendered(PROVIDER_METADATA, json_bytes(metadata), JSON)
    # In parts (one per entry): the feed of 10,000 advisories is stored as blocks.
    yield Rendered.of_parts(FEED, rolie_feed_parts(publisher, listed, updated), JSON)
    yield Rendered(INDEX, index_txt(listed), TEXT)
    yield Rendered(CHANGES, changes_csv(listed), CSV)
    for key in keys:
        armored = key.public_key if key.public_key.endswith("\n") else key.public_key + "\n"
        yield Rendered(f"{KEYS_DIR}{key.fingerprint.upper()}.asc", armored.encode(), PGP_KEYS)


# --- checking provider metadata -----------------------------------------------------


def provider_metadata_problems(doc: Any) -> list[str]:
    """The rules of OASIS's provider_json_schema.json, checked by code ("path: message")."""
    if not isinstance(doc, dict):
        return ["/: provider metadata is a JSON object"]
    problems: list[str] = []

    def bad(path: str, message: str) -> None:
        problems.append(f"{path}: {message}")

    allowed = {
        "canonical_url", "distributions", "last_updated", "list_on_CSAF_aggregators",
        "metadata_version", "mirror_on_CSAF_aggregators", "public_openpgp_keys", "publisher",
        "role",
    }  # fmt: skip
    for key in sorted(set(doc) - allowed):
        bad(f"/{key}", "is not a provider metadata property")
    for key in ("canonical_url", "last_updated", "list_on_CSAF_aggregators",
                "metadata_version", "mirror_on_CSAF_aggregators", "publisher", "role"):  # fmt: skip
        if key not in doc:
            bad(f"/{key}", "is required")
    canonical = doc.get("canonical_url")
    if canonical is not None and not (
        isinstance(canonical, str)
        and URL.match(canonical)
        and canonical.endswith("/provider-metadata.json")
    ):
        bad("/canonical_url", "must be the URL of a provider-metadata.json")
    if "last_updated" in doc and not TIMESTAMP.match(str(doc["last_updated"])):
        bad("/last_updated", "needs an RFC 3339 date-time")
    for key in ("list_on_CSAF_aggregators", "mirror_on_CSAF_aggregators"):
        if key in doc and not isinstance(doc[key], bool):
            bad(f"/{key}", "must be true or false")
    if "metadata_version" in doc and doc["metadata_version"] != "2.0":
        bad("/metadata_version", "must be 2.0")
    if "role" in doc and doc["role"] not in ROLES:
        bad("/role", f"must be one of {', '.join(sorted(ROLES))}")
    _publisher_problems(doc.get("publisher"), bad)
    distributions = doc.get("distributions")
    if distributions is not None:
        if not isinstance(distributions, list) or not distributions:
            bad("/distributions", "needs at least one distribution")
        else:
            for i, dist in enumerate(distributions):
                _distribution_problems(dist, f"/distributions/{i}", bad)
    keys = doc.get("public_openpgp_keys")
    if keys is not None:
        if not isinstance(keys, list):
            bad("/public_openpgp_keys", "must be a list")
        else:
            for i, key in enumerate(keys):
                if not isinstance(key, dict) or not URL.match(str(key.get("url", ""))):
                    bad(f"/public_openpgp_keys/{i}/url", "is required and must be a URL")
                elif "fingerprint" in key and not re.fullmatch(
                    r"[0-9a-fA-F]{40,}", str(key["fingerprint"])
                ):
                    bad(f"/public_openpgp_keys/{i}/fingerprint", "must be 40+ hex digits")
    return problems


def _publisher_problems(publisher: Any, bad: Any) -> None:
    if publisher is None:
        return
    if not isinstance(publisher, dict):
        bad("/publisher", "must be an object")
        return
    for key in ("category", "name", "namespace"):
        if not publisher.get(key):
            bad(f"/publisher/{key}", "is required")
    if publisher.get("category") and publisher["category"] not in PUBLISHER_CATEGORIES:
        bad("/publisher/category", f"{publisher['category']!r} is not a CSAF publisher category")
    if publisher.get("namespace") and not URL.match(str(publisher["namespace"])):
        bad("/publisher/namespace", "must be a URL")
    for key in sorted(
        set(publisher) - {"category", "contact_details", "issuing_authority", "name", "namespace"}
    ):
        bad(f"/publisher/{key}", "is not a publisher property")


def _distribution_problems(dist: Any, path: str, bad: Any) -> None:
    if not isinstance(dist, dict) or not dist:
        bad(path, "must be an object with directory_url or rolie")
        return
    if "directory_url" in dist and not URL.match(str(dist["directory_url"])):
        bad(f"{path}/directory_url", "must be a URL")
    rolie = dist.get("rolie")
    if rolie is None:
        return
    feeds = rolie.get("feeds") if isinstance(rolie, dict) else None
    if not isinstance(feeds, list) or not feeds:
        bad(f"{path}/rolie/feeds", "needs at least one feed")
        return
    for j, feed in enumerate(feeds):
        here = f"{path}/rolie/feeds/{j}"
        if not isinstance(feed, dict):
            bad(here, "must be an object")
            continue
        if feed.get("tlp_label") not in {"UNLABELED", "WHITE", "GREEN", "AMBER", "RED"}:
            bad(f"{here}/tlp_label", "must be a TLP 1.0 label")
        url = str(feed.get("url", ""))
        if not (URL.match(url) and url.endswith(".json")):
            bad(f"{here}/url", "must be the URL of a .json feed")
