"""Desk search across advisories, reports and incidents: identifier, CVE, title and text.

Advisories are the large table (tens of thousands over a vendor's life), so their
text is searched through the database's own full-text index, created by
``herald/web/migrations/0001_search_index.py``:

- PostgreSQL: a ``tsquery`` of the words (prefixes for plain words) against a GIN
  index on a weighted ``tsvector`` expression (identifier, CVE ids and title weigh most);
- SQLite: an FTS5 table kept in step by triggers, ranked by bm25;
- anything else (SQLite built without FTS5): indexed exact lookups, then ``LIKE``.

An exact identifier or CVE id is always looked up first, by index, so it comes
first. Reports and incidents are few by comparison and are matched with
``icontains`` on their identifier, title and text. Results include drafts:
desk views only (``staff_required``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Q
from django.urls import NoReverseMatch, reverse

from herald.advisories.models import Advisory, Vulnerability
from herald.incidents.models import Incident
from herald.web.optional import optional_model

MAX_QUERY = 200
LIMIT = 50

# The same expression as the migration's GIN index: PostgreSQL uses the index
# only when the query's expression is the indexed one.
POSTGRES_VECTOR = (
    "(setweight(to_tsvector('english'::regconfig, coalesce(identifier, '') || ' ' || "
    "coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(summary, '')), 'B') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(description, '') || ' ' || "
    "coalesce(affected_users, '') || ' ' || coalesce(resolution, '')), 'C'))"
)
# Ranking recomputes its tsvector for every matching row (the index stores none):
# on whole descriptions that costs seconds for a common word over 10,000 rows, so
# only the short, heaviest part ranks (identifier, CVE ids, title), then the newest.
POSTGRES_TITLE_VECTOR = (
    "to_tsvector('english'::regconfig, coalesce(identifier, '') || ' ' || coalesce(title, ''))"
)
FTS_TABLE = "web_advisory_fts"
CVE_RE = re.compile(r"^CVE-\d{4}-\d{4,19}$", re.I)


@dataclass(frozen=True)
class Hit:
    kind: str  # "advisory", "report" or "incident"
    identifier: str
    title: str
    url: str
    detail: str = ""


@dataclass
class Results:
    query: str
    advisories: list[Hit] = field(default_factory=list)
    reports: list[Hit] | None = None  # None: the intake app is not installed
    incidents: list[Hit] = field(default_factory=list)
    engine: str = ""

    @property
    def count(self) -> int:
        return len(self.advisories) + len(self.reports or []) + len(self.incidents)


def normalise(query: str) -> str:
    """One line of at most MAX_QUERY characters, without control characters (NUL included)."""
    printable = "".join(ch if ch.isprintable() else " " for ch in query or "")
    return " ".join(printable.split())[:MAX_QUERY]


def _fts_available() -> bool:
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE name = %s", [FTS_TABLE])
        return cursor.fetchone() is not None


def engine() -> str:
    """Which search runs on this database: "postgresql", "fts5" or "like"."""
    if connection.vendor == "postgresql":
        return "postgresql"
    return "fts5" if _fts_available() else "like"


def fts5_query(query: str) -> str:
    """Each word as a quoted FTS5 phrase with a prefix star; the words are ANDed.

    Quoting makes every character literal (no FTS5 operators from the person's
    input); "CVE-2026-1234" becomes the phrase cve 2026 1234, as it was indexed.
    """
    terms = [t for t in query.split() if any(ch.isalnum() for ch in t)]
    return " ".join('"' + t.replace('"', '""') + '"*' for t in terms)


def postgres_tsquery(query: str) -> tuple[str, list[str]]:
    """SQL for a tsquery ANDing the words, and its parameters.

    A plain word matches as a prefix (``word:*``), as the box is typed into; a word
    with punctuation (an identifier, a CVE id) is a phrase of the lexemes the
    parser makes of it, exactly as it was indexed.
    """
    parts: list[str] = []
    params: list[str] = []
    for word in query.split():
        if re.fullmatch(r"\w+", word):
            parts.append("to_tsquery('english'::regconfig, %s)")
            params.append(word + ":*")
        elif any(ch.isalnum() for ch in word):
            parts.append("phraseto_tsquery('english'::regconfig, %s)")
            params.append(word)
    return " && ".join(parts), params


def _advisory_ids_fulltext(query: str, kind: str, limit: int) -> list[int]:
    with connection.cursor() as cursor:
        if kind == "postgresql":
            tsquery, params = postgres_tsquery(query)
            if not tsquery:
                return []
            cursor.execute(
                # Constant SQL; the person's words are parameters.
                f"SELECT id FROM advisories_advisory, (SELECT {tsquery}) AS q(query) "  # noqa: S608
                f"WHERE {POSTGRES_VECTOR} @@ q.query "
                f"ORDER BY ts_rank({POSTGRES_TITLE_VECTOR}, q.query) DESC, id DESC LIMIT %s",
                [*params, limit],
            )
        else:
            match = fts5_query(query)
            if not match:
                return []
            cursor.execute(
                # rank is bm25 with the column weights the migration configured.
                f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s "  # noqa: S608
                "ORDER BY rank LIMIT %s",
                [match, limit],
            )
        return [row[0] for row in cursor.fetchall()]


def _advisory_ids_like(query: str, limit: int) -> list[int]:
    words = query.split()
    condition = Q()
    for word in words:
        condition &= (
            Q(identifier__icontains=word)
            | Q(title__icontains=word)
            | Q(summary__icontains=word)
            | Q(description__icontains=word)
            | Q(vulnerabilities__cve_id__icontains=word)
        )
    return list(
        Advisory.objects.filter(condition)
        .order_by("-id")
        .values_list("id", flat=True)
        .distinct()[:limit]
    )


def search_advisories(query: str, *, limit: int = LIMIT, kind: str | None = None) -> list[Hit]:
    kind = kind or engine()
    key = query.upper()
    # An identifier or a CVE id (or the start of one, "CVE-2026-12") finds its advisory
    # directly: CVE ids live on the vulnerabilities, outside the text index.
    by_cve = Vulnerability.objects.filter(cve_id__startswith=key) if len(key) >= 8 else None
    exact = list(
        Advisory.objects.filter(
            Q(identifier=key) | Q(pk__in=by_cve.values("advisory_id"))
            if by_cve is not None
            else Q(identifier=key)
        )
        .order_by("-id")
        .values_list("id", flat=True)[:limit]
    )
    if kind == "like":
        found = _advisory_ids_like(query, limit)
    else:
        found = _advisory_ids_fulltext(query, kind, limit)
    ids = list(dict.fromkeys([*exact, *found]))[:limit]
    rows = Advisory.objects.prefetch_related("vulnerabilities").in_bulk(ids)
    if CVE_RE.match(query):
        # The advisory that carries the CVE id comes first; the text index found it
        # as the phrase of the id's parts, perhaps among others that mention it.
        ids.sort(key=lambda pk: key not in (getattr(rows.get(pk), "cve_ids", None) or []))
    hits = []
    for pk in ids:
        a = rows.get(pk)
        if a is None:
            continue
        cves = ", ".join(a.cve_ids or [])
        detail = " · ".join(
            x for x in (a.get_state_display(), a.get_status_display(), a.severity, cves) if x
        )
        hits.append(
            Hit(
                "advisory",
                a.identifier,
                a.title,
                reverse("web:advisory_detail", args=[a.identifier]),
                detail,
            )
        )
    return hits


def search_incidents(query: str, *, limit: int = LIMIT) -> list[Hit]:
    condition = Q(identifier__iexact=query)
    words = query.split()
    if words:
        text = Q()
        for word in words:
            text &= Q(title__icontains=word) | Q(summary__icontains=word)
        condition |= text
    return [
        Hit(
            "incident",
            i.identifier,
            i.title,
            reverse("web:incident_detail", args=[i.identifier]),
            f"{i.get_status_display()} · {i.severity}",
        )
        for i in Incident.objects.filter(condition).order_by("-declared_at", "-id")[:limit]
    ]


def search_reports(query: str, *, limit: int = LIMIT) -> list[Hit] | None:
    report_model = optional_model("report")
    if report_model is None:
        return None
    condition = Q(tracking_id__iexact=query)
    words = query.split()
    if words:
        text = Q()
        for word in words:
            text &= Q(title__icontains=word) | Q(body__icontains=word)
        condition |= text
    hits = []
    report: Any
    for report in report_model.objects.filter(condition).order_by("-created_at", "-id")[:limit]:
        try:
            url = reverse("intake:desk_report", args=[report.tracking_id])
        except NoReverseMatch:
            url = ""
        hits.append(
            Hit("report", report.tracking_id, report.title, url, report.get_state_display())
        )
    return hits


def search(query: str, *, limit: int = LIMIT) -> Results:
    query = normalise(query)
    results = Results(query=query, engine=engine())
    if not query:
        return results
    results.advisories = search_advisories(query, limit=limit, kind=results.engine)
    results.reports = search_reports(query, limit=limit)
    results.incidents = search_incidents(query, limit=limit)
    return results
