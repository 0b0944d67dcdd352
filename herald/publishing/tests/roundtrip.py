"""What an export lost relative to the original document, field by field (issue #15).

``lost(kind, original, exported)`` compares a document Herald imported (``kind`` is
"osv", "cve" or "csaf") with what Herald exports again in the same format, and lists
in plain words, each with the JSON path in the original, what the export dropped or
changed. An empty list means nothing the rules look at was lost.

The rules (issue #15, point 3). A re-export keeps:

- the upstream id: OSV ``id`` and every alias and related id, found in the export's
  ``id``, ``aliases``, ``upstream`` or ``related``; the CVE id; the CSAF
  ``tracking.id``, found in ``tracking.id`` or ``tracking.aliases``, and the CVE ids of
  its vulnerabilities;
- the source's times: OSV ``published``/``modified``/``withdrawn`` equal (Go's
  ``0001-01-01T00:00:00Z`` means "no date" and is not compared); CVE
  ``datePublished``/``dateUpdated``/``dateRejected`` and CSAF
  ``initial_release_date``/``current_release_date`` as some timestamp of the export
  (times compared as instants: ``...58.827Z`` equals ``...58.827000+00:00``);
- OSV packages, ranges with their events, ``versions`` lists and ``ecosystem_specific``;
  per-package, order-insensitive, and insensitive to how entries are split (three
  ``affected`` entries of one package equal one entry with the three ranges);
- CVE vendor and product names, ``defaultStatus``, ``versions`` (with ``changes``),
  scores, CWEs, descriptions and rejection reasons in every language, solutions and
  workarounds; every ADP container stays an ADP container of the same provider with its
  scores, CWEs, descriptions and products, never moved into the CNA container;
- CSAF vendor and product names, and per vulnerability its scores, CWE, product status,
  flags, impact statements, remediations and notes; products are document-local ids,
  so they are compared by what the product tree says they are (name, purl, cpe);
  at least as many ``revision_history`` entries.

Comparisons are semantic: lists the standards treat as sets are compared as sets,
language tags case-insensitively; a text (summary, details, a description in one
language, a CSAF note) is kept when it is whole in the export's text of the same field,
language or note category, white space aside: an export may add to it (a "Resolution"
paragraph), not cut it.
No Herald code is imported: the checker judges documents, whoever wrote them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["lost"]

Doc = dict[str, Any]


def lost(kind: str, original: Doc, exported: Doc) -> list[str]:
    """What ``exported`` dropped or changed relative to ``original``; [] when nothing."""
    checkers = {"osv": _osv, "cve": _cve, "csaf": _csaf}
    if kind not in checkers:
        raise ValueError(f"unknown kind {kind!r}: one of {', '.join(checkers)}")
    return list(checkers[kind](original, exported))


# --- shared helpers -------------------------------------------------------------------


def _canon(value: Any) -> str:
    """A value as canonical JSON, lists sorted (for values whose lists are sets)."""

    def norm(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        if isinstance(v, list):
            return sorted((norm(x) for x in v), key=lambda x: json.dumps(x, sort_keys=True))
        if isinstance(v, str):
            return v.strip()
        return v

    return json.dumps(norm(value), sort_keys=True, ensure_ascii=False)


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())


def _kept_text(text: Any, candidates: Iterable[Any]) -> bool:
    """The text is whole in one of the candidates (white space aside; additions allowed)."""
    wanted = _text(text)
    return not wanted or any(wanted in _text(c) for c in candidates)


def _short(value: Any, width: int = 60) -> str:
    text = _text(value)
    return repr(text if len(text) <= width else text[: width - 1] + "…")


_FRACTION = re.compile(r"(\.\d{1,6})\d*")


def _instant(value: Any) -> dt.datetime | None:
    """An RFC 3339 time as an aware datetime (no offset: UTC); None if none or year 1."""
    if not isinstance(value, str) or not value[:4].isdigit():
        return None
    text = _FRACTION.sub(r"\1", value.strip().replace("z", "Z"))
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.year <= 1:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _instants(doc: Any) -> set[dt.datetime]:
    found: set[dt.datetime] = set()

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        else:
            when = _instant(v)
            if when is not None:
                found.add(when)

    walk(doc)
    return found


def _kept_somewhere(path: str, what: str, value: Any, exported: Doc) -> Iterator[str]:
    when = _instant(value)
    if when is not None and when not in _instants(exported):
        yield f"{path}: the {what} {value} is nowhere in the export"


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> Doc:
    return value if isinstance(value, dict) else {}


# --- OSV ------------------------------------------------------------------------------

_OSV_TIMES = ("published", "modified", "withdrawn")


def _osv_package(affected: Doc) -> tuple[str, str]:
    package = _dict(affected.get("package"))
    if package:
        return (str(package.get("ecosystem", "")), str(package.get("name", "")))
    # GIT ranges without a package (e.g. the PSF's CPython entries): the repository.
    repos = sorted({str(r.get("repo", "")) for r in _list(affected.get("ranges"))})
    return ("(no package)", " ".join(repos))


def _osv_packages(doc: Doc) -> dict[tuple[str, str], list[tuple[int, Doc]]]:
    packages: dict[tuple[str, str], list[tuple[int, Doc]]] = {}
    for number, affected in enumerate(_list(doc.get("affected"))):
        packages.setdefault(_osv_package(affected), []).append((number, affected))
    return packages


def _osv_events(entries: list[tuple[int, Doc]]) -> dict[tuple[str, str], set[tuple[str, str]]]:
    """(range type, repo) -> the set of (event, version) of every range of a package."""
    events: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for _, affected in entries:
        for rng in _list(affected.get("ranges")):
            key = (str(rng.get("type", "")), str(rng.get("repo", "")))
            bucket = events.setdefault(key, set())
            for event in _list(rng.get("events")):
                bucket.update((str(k), str(v)) for k, v in _dict(event).items())
    return events


def _osv_ids(doc: Doc) -> set[str]:
    ids = {str(doc.get("id", ""))}
    for field in ("aliases", "upstream", "related"):
        ids.update(str(x) for x in _list(doc.get(field)))
    return ids - {""}


def _osv_scores(doc: Doc) -> set[tuple[str, str]]:
    scores = {(str(s.get("type")), str(s.get("score"))) for s in _list(doc.get("severity"))}
    for affected in _list(doc.get("affected")):
        scores |= {
            (str(s.get("type")), str(s.get("score"))) for s in _list(affected.get("severity"))
        }
    return scores


def _osv_cwes(doc: Doc) -> set[str]:
    cwes = set(_list(_dict(doc.get("database_specific")).get("cwe_ids")))
    for affected in _list(doc.get("affected")):
        cwes |= set(_list(_dict(affected.get("database_specific")).get("cwe_ids")))
    return {str(c) for c in cwes}


def _osv(original: Doc, exported: Doc) -> Iterator[str]:
    kept_ids = _osv_ids(exported)
    upstream = str(original.get("id", ""))
    if upstream and upstream not in kept_ids:
        yield (
            f"/id: the upstream id {upstream} is not in the export's id, aliases, "
            "upstream or related"
        )
    for field in ("aliases", "upstream", "related"):
        for number, alias in enumerate(_list(original.get(field))):
            if str(alias) not in kept_ids:
                yield f"/{field}/{number}: {alias} dropped"

    for field in _OSV_TIMES:
        before, after = _instant(original.get(field)), _instant(exported.get(field))
        if before is not None and before != after:
            now = exported.get(field, "nothing")
            yield f"/{field}: {original.get(field)} became {now}"

    for field in ("summary", "details"):
        if not _kept_text(original.get(field), [exported.get(field)]):
            yield f"/{field}: the text {_short(original.get(field))} was dropped or changed"

    for score in sorted(_osv_scores(original) - _osv_scores(exported)):
        yield f"/severity: the {score[0]} score {score[1]} dropped"
    for cwe in sorted(_osv_cwes(original) - _osv_cwes(exported)):
        yield f"/database_specific/cwe_ids: {cwe} dropped"

    theirs = _osv_packages(exported)
    for package, entries in _osv_packages(original).items():
        first = entries[0][0]
        name = "/".join(package)
        if package not in theirs:
            yield f"/affected/{first}/package: the package {name} dropped"
            continue
        yield from _osv_package_lost(name, entries, theirs[package])


def _osv_package_lost(
    name: str, mine: list[tuple[int, Doc]], theirs: list[tuple[int, Doc]]
) -> Iterator[str]:
    first = mine[0][0]
    purls = {str(_dict(a.get("package")).get("purl", "")) for _, a in theirs}
    for number, affected in mine:
        purl = _dict(affected.get("package")).get("purl")
        if purl and str(purl) not in purls:
            yield f"/affected/{number}/package/purl: {purl} of {name} dropped"

    their_events = _osv_events(theirs)
    for (kind, repo), events in _osv_events(mine).items():
        where = f"{kind} range" + (f" of {repo}" if repo else "")
        kept = their_events.get((kind, repo))
        if kept is None:
            yield f"/affected/{first}/ranges: the {where} of {name} dropped"
            continue
        for event, version in sorted(events - kept):
            yield f"/affected/{first}/ranges: {event} {version} in the {where} of {name} dropped"

    their_versions = {str(v) for _, a in theirs for v in _list(a.get("versions"))}
    for number, affected in mine:
        for index, version in enumerate(_list(affected.get("versions"))):
            if str(version) not in their_versions:
                yield f"/affected/{number}/versions/{index}: version {version} of {name} dropped"

    their_specific = {_canon(a.get("ecosystem_specific")) for _, a in theirs}
    for number, affected in mine:
        specific = affected.get("ecosystem_specific")
        if specific and _canon(specific) not in their_specific:
            yield (
                f"/affected/{number}/ecosystem_specific: {_short(_canon(specific))} "
                f"of {name} dropped or changed"
            )


# --- CVE JSON 5 -----------------------------------------------------------------------

_CVE_TIMES = ("datePublished", "dateUpdated", "dateRejected")


def _lang(value: Any) -> str:
    return str(value or "").strip().lower()


def _cve_metrics(container: Doc) -> set[str]:
    found = set()
    for metric in _list(container.get("metrics")):
        for key, value in _dict(metric).items():
            if key in ("format", "scenarios"):
                continue
            body = _dict(value)
            if key.startswith("cvss"):
                found.add(f"{key} {body.get('vectorString')} ({body.get('baseScore')})")
            else:
                found.add(f"{key} {_canon(value)}")
    return found


def _cve_cwes(container: Doc) -> set[str]:
    return {
        str(d.get("cweId"))
        for problem in _list(container.get("problemTypes"))
        for d in _list(_dict(problem).get("descriptions"))
        if d.get("cweId")
    }


def _cve_product(affected: Doc) -> tuple[str, str]:
    """Vendor and product; a package-only entry (collectionURL, packageName) by its package."""
    vendor, product = _text(affected.get("vendor")), _text(affected.get("product"))
    if vendor or product:
        return (vendor, product)
    return (_text(affected.get("collectionURL")), _text(affected.get("packageName")))


def _cve_version(version: Doc) -> str:
    body = {k: v for k, v in version.items() if k != "changes"}
    changes = sorted(
        (str(c.get("at")), str(c.get("status"))) for c in _list(version.get("changes"))
    )
    return _canon({**body, "changes": changes})


def _cve_products(container: Doc) -> dict[tuple[str, str], list[tuple[int, Doc]]]:
    products: dict[tuple[str, str], list[tuple[int, Doc]]] = {}
    for number, affected in enumerate(_list(container.get("affected"))):
        products.setdefault(_cve_product(affected), []).append((number, affected))
    return products


def _cve_container_lost(where: str, mine: Doc, theirs: Doc) -> Iterator[str]:
    """Products, versions, scores, CWEs, texts of one container kept in another."""
    their_products = _cve_products(theirs)
    for product, entries in _cve_products(mine).items():
        first = entries[0][0]
        name = " ".join(p for p in product if p) or "(unnamed)"
        kept = their_products.get(product)
        if kept is None:
            yield f"{where}/affected/{first}: vendor and product {name} dropped"
            continue
        statuses = {a.get("defaultStatus") for _, a in kept}
        versions = {_cve_version(v) for _, a in kept for v in _list(a.get("versions"))}
        fields = {
            f: {_canon(a.get(f)) for _, a in kept} for f in ("packageName", "collectionURL", "repo")
        }
        for number, affected in entries:
            status = affected.get("defaultStatus")
            if status and status not in statuses:
                yield f"{where}/affected/{number}/defaultStatus: {status} of {name} dropped"
            for field, values in fields.items():
                if affected.get(field) and _canon(affected.get(field)) not in values:
                    yield f"{where}/affected/{number}/{field}: {affected[field]} of {name} dropped"
            for index, version in enumerate(_list(affected.get("versions"))):
                if _cve_version(version) not in versions:
                    yield (
                        f"{where}/affected/{number}/versions/{index}: {name} "
                        f"{_short(_cve_version(version), 90)} dropped or changed"
                    )
    for metric in sorted(_cve_metrics(mine) - _cve_metrics(theirs)):
        yield f"{where}/metrics: {_short(metric, 90)} dropped"
    for cwe in sorted(_cve_cwes(mine) - _cve_cwes(theirs)):
        yield f"{where}/problemTypes: {cwe} dropped"
    for field in ("descriptions", "rejectedReasons", "solutions", "workarounds"):
        for number, item in enumerate(_list(mine.get(field))):
            lang = _lang(item.get("lang"))
            same_lang = [
                t.get("value") for t in _list(theirs.get(field)) if _lang(t.get("lang")) == lang
            ]
            if not _kept_text(item.get("value"), same_lang):
                yield (
                    f"{where}/{field}/{number}: the {item.get('lang')} text "
                    f"{_short(item.get('value'))} dropped or changed"
                )


def _adp_provider(adp: Doc) -> str:
    meta = _dict(adp.get("providerMetadata"))
    return str(meta.get("orgId") or meta.get("shortName") or "")


def _cve(original: Doc, exported: Doc) -> Iterator[str]:
    meta, their_meta = _dict(original.get("cveMetadata")), _dict(exported.get("cveMetadata"))
    if meta.get("cveId") != their_meta.get("cveId"):
        yield f"/cveMetadata/cveId: {meta.get('cveId')} became {their_meta.get('cveId')}"
    if meta.get("state") and meta.get("state") != their_meta.get("state"):
        yield f"/cveMetadata/state: {meta.get('state')} became {their_meta.get('state')}"
    for field in _CVE_TIMES:
        yield from _kept_somewhere(f"/cveMetadata/{field}", field, meta.get(field), exported)

    containers, theirs = _dict(original.get("containers")), _dict(exported.get("containers"))
    cna, their_cna = _dict(containers.get("cna")), _dict(theirs.get("cna"))
    yield from _cve_container_lost("/containers/cna", cna, their_cna)

    their_adps = {_adp_provider(a): a for a in _list(theirs.get("adp"))}
    cna_metrics, cna_cwes = _cve_metrics(cna), _cve_cwes(cna)
    for number, adp in enumerate(_list(containers.get("adp"))):
        where = f"/containers/adp/{number}"
        provider = _dict(adp.get("providerMetadata"))
        name = provider.get("shortName") or provider.get("orgId")
        moved = (_cve_metrics(adp) - cna_metrics) & _cve_metrics(their_cna)
        moved_cwes = (_cve_cwes(adp) - cna_cwes) & _cve_cwes(their_cna)
        if moved or moved_cwes:
            what = ", ".join(sorted(moved | moved_cwes))
            yield f"{where}: {name}'s {_short(what, 90)} moved into the CNA container"
        kept = their_adps.get(_adp_provider(adp))
        if kept is None:
            yield f"{where}: the ADP container of {name} dropped"
            continue
        yield from _cve_container_lost(where, adp, kept)


# --- CSAF 2.0 -------------------------------------------------------------------------


def _csaf_products(doc: Doc) -> dict[str, set[tuple[str, str]]]:
    """product id -> what identifies it outside the document: name, purl, cpe."""
    products: dict[str, set[tuple[str, str]]] = {}

    def add(full: Doc, path: tuple[str, ...] = ()) -> None:
        pid = full.get("product_id")
        if not pid:
            return
        keys = products.setdefault(str(pid), set())
        if full.get("name"):
            keys.add(("name", _text(full["name"])))
        if path:
            keys.add(("branches", " / ".join(path)))
        helper = _dict(full.get("product_identification_helper"))
        for field in ("purl", "cpe"):
            if helper.get(field):
                keys.add((field, str(helper[field])))

    def walk(branches: Any, path: tuple[str, ...]) -> None:
        for branch in _list(branches):
            here = (*path, _text(branch.get("name")))
            if branch.get("product"):
                add(_dict(branch["product"]), here)
            walk(branch.get("branches"), here)

    tree = _dict(doc.get("product_tree"))
    walk(tree.get("branches"), ())
    for full in _list(tree.get("full_product_names")):
        add(_dict(full))
    for relation in _list(tree.get("relationships")):
        full = _dict(relation.get("full_product_name"))
        add(full)
        pid = full.get("product_id")
        if pid:  # also what it is made of: component X <category> product Y
            component = products.get(str(relation.get("product_reference")), set())
            parent = products.get(str(relation.get("relates_to_product_reference")), set())
            for a in component:
                for b in parent:
                    products[str(pid)].add((f"{relation.get('category')}", f"{a[1]} | {b[1]}"))
    return products


def _csaf_branch_names(doc: Doc, category: str) -> set[str]:
    names: set[str] = set()

    def walk(branches: Any) -> None:
        for branch in _list(branches):
            if branch.get("category") == category:
                names.add(_text(branch.get("name")))
            walk(branch.get("branches"))

    walk(_dict(doc.get("product_tree")).get("branches"))
    return names


def _csaf_vuln_key(vuln: Doc) -> str:
    if vuln.get("cve"):
        return str(vuln["cve"])
    ids = sorted(f"{i.get('system_name')}:{i.get('text')}" for i in _list(vuln.get("ids")))
    return ids[0] if ids else _text(vuln.get("title"))


class _Products:
    """Product ids of one document, compared with another by what they identify."""

    def __init__(self, doc: Doc) -> None:
        self.keys = _csaf_products(doc)

    def name(self, pid: Any) -> str:
        keys = self.keys.get(str(pid), set())
        for kind in ("name", "purl", "cpe", "branches"):
            for key_kind, value in sorted(keys):
                if key_kind == kind:
                    return value
        return str(pid)

    def covered(self, pid: Any, their_ids: Iterable[Any], theirs: _Products) -> bool:
        mine = self.keys.get(str(pid), set())
        if not mine:
            return False
        return any(mine & theirs.keys.get(str(t), set()) for t in their_ids)


def _csaf(original: Doc, exported: Doc) -> Iterator[str]:
    document, their_document = _dict(original.get("document")), _dict(exported.get("document"))
    tracking, their_tracking = (
        _dict(document.get("tracking")),
        _dict(their_document.get("tracking")),
    )
    upstream = tracking.get("id")
    if upstream and upstream not in {
        their_tracking.get("id"),
        *_list(their_tracking.get("aliases")),
    }:
        yield (
            f"/document/tracking/id: the upstream id {upstream} is not in the export's "
            "tracking id or aliases"
        )
    for field in ("initial_release_date", "current_release_date"):
        yield from _kept_somewhere(
            f"/document/tracking/{field}", field, tracking.get(field), exported
        )
    mine_revisions = len(_list(tracking.get("revision_history")))
    their_revisions = len(_list(their_tracking.get("revision_history")))
    if their_revisions < mine_revisions:
        yield (
            f"/document/tracking/revision_history: {mine_revisions} entries "
            f"became {their_revisions}"
        )
    yield from _csaf_notes_lost("/document", document, their_document, ("summary", "description"))

    for category in ("vendor", "product_name"):
        kept = _csaf_branch_names(exported, category)
        for name in sorted(_csaf_branch_names(original, category) - kept):
            yield f"/product_tree/branches: the {category.replace('_', ' ')} {name!r} dropped"
    mine, theirs = _Products(original), _Products(exported)
    for pid in sorted(mine.keys):
        if not any(mine.keys[pid] & keys for keys in theirs.keys.values()):
            yield f"/product_tree: the product {mine.name(pid)!r} dropped"

    their_vulns = {_csaf_vuln_key(v): v for v in _list(exported.get("vulnerabilities"))}
    for number, vuln in enumerate(_list(original.get("vulnerabilities"))):
        key = _csaf_vuln_key(vuln)
        twin = their_vulns.get(key)
        if twin is None:
            yield f"/vulnerabilities/{number}: the vulnerability {key} dropped"
            continue
        yield from _csaf_vuln_lost(f"/vulnerabilities/{number}", key, vuln, twin, mine, theirs)


def _csaf_vuln_lost(
    where: str, key: str, vuln: Doc, kept: Doc, mine: _Products, theirs: _Products
) -> Iterator[str]:
    cwe, their_cwe = _dict(vuln.get("cwe")).get("id"), _dict(kept.get("cwe")).get("id")
    if cwe and cwe != their_cwe:
        yield f"{where}/cwe: {cwe} of {key} became {their_cwe or 'nothing'}"

    def vectors(v: Doc) -> set[str]:
        return {
            f"{kind} {_dict(score.get(kind)).get('vectorString')}"
            for score in _list(v.get("scores"))
            for kind in ("cvss_v2", "cvss_v3")
            if score.get(kind)
        }

    for lost_vector in sorted(vectors(vuln) - vectors(kept)):
        yield f"{where}/scores: {lost_vector} of {key} dropped"
    for number, score in enumerate(_list(vuln.get("scores"))):
        for kind in ("cvss_v2", "cvss_v3"):
            vector = _dict(score.get(kind)).get("vectorString")
            if not vector:
                continue
            their_ids = [
                pid
                for s in _list(kept.get("scores"))
                if _dict(s.get(kind)).get("vectorString") == vector
                for pid in _list(s.get("products"))
            ]
            for pid in _list(score.get("products")):
                if their_ids and not mine.covered(pid, their_ids, theirs):
                    name = mine.name(pid)
                    yield f"{where}/scores/{number}: {vector} no longer applies to {name!r}"

    their_status = _dict(kept.get("product_status"))
    for status, pids in _dict(vuln.get("product_status")).items():
        for pid in _list(pids):
            if not mine.covered(pid, _list(their_status.get(status)), theirs):
                yield f"{where}/product_status/{status}: {mine.name(pid)!r} for {key} dropped"

    for field, label in (("remediations", "category"), ("flags", "label"), ("threats", "category")):
        for number, item in enumerate(_list(vuln.get(field))):
            if field == "threats" and item.get(label) != "impact":
                continue
            text = _text(item.get("details"))
            same = [
                t
                for t in _list(kept.get(field))
                if t.get(label) == item.get(label) and _text(t.get("details")) == text
            ]
            what = f"the {item.get(label)} {field[:-1]}" + (f" {_short(text)}" if text else "")
            if not same:
                yield f"{where}/{field}/{number}: {what} of {key} dropped or changed"
                continue
            their_ids = [pid for t in same for pid in _list(t.get("product_ids"))]
            for pid in _list(item.get("product_ids")):
                if not mine.covered(pid, their_ids, theirs):
                    yield f"{where}/{field}/{number}: {what} no longer covers {mine.name(pid)!r}"

    yield from _csaf_notes_lost(where, vuln, kept, ("description", "summary", "details"))


def _csaf_notes_lost(
    where: str, mine: Doc, theirs: Doc, categories: tuple[str, ...]
) -> Iterator[str]:
    """The notes of these categories (the descriptions) kept, their text whole."""
    for number, note in enumerate(_list(mine.get("notes"))):
        category = note.get("category")
        same = [n.get("text") for n in _list(theirs.get("notes")) if n.get("category") == category]
        if category in categories and not _kept_text(note.get("text"), same):
            text = _short(note.get("text"))
            yield f"{where}/notes/{number}: the {category} note {text} dropped or changed"
