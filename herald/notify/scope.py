"""Which product rows of a vulnerability say a deployment's version is hit (issue #15).

One rule for the outreach campaign, the desk's publish plan and anything else that
picks customers (through ``herald.notify.actions.affected_customers``): a row *covers*
a version when its ranges, its list of versions or its single version include it (a
row naming no versions covers every version). For one vulnerability a deployment is
hit when a row saying ``affected`` or ``under_investigation`` covers its version and
no row saying ``fixed`` or ``not_affected`` covers it; a row that cannot tell (a GIT
range, a version that does not parse) counts as covering when it says affected:
better told than missed. An unknown deployment version is hit unless no row could
still hit it (every row not affected, or fixed for every version).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from herald.advisories.snapshot import AffectedSnapshot, VersionRange
from herald.notify.versions import compare_versions as _cmp
from herald.notify.versions import is_version as _parses

HIT = ("affected", "under_investigation")
CLEAR = ("fixed", "not_affected")
# CVE's ``defaultStatus`` words (kept as given on the row) for versions no row lists.
DEFAULT_HIT = ("affected", "unknown", "under_investigation")
OPEN = ("", "0", "*")


def _in_range(version: str, r: VersionRange) -> bool | None:
    """OSV's reading of ``events``: each ``introduced`` up to the next ``fixed`` or
    ``last_affected``. ``None`` when it cannot be told (GIT, commits, no events)."""
    if r.type.upper() == "GIT" or not r.events:
        return None
    start: str | None = None
    for event in r.events:
        for kind, bound in event.items():
            bound = str(bound)
            if kind == "limit":
                continue
            if bound not in OPEN and not _parses(bound):
                return None
            if kind == "introduced":
                start = bound
            elif start is not None and kind in ("fixed", "last_affected"):
                if kind == "last_affected":
                    below = bound in ("", "*") or _cmp(version, bound) <= 0
                else:
                    below = _cmp(version, bound) < 0
                if (start in OPEN or _cmp(version, start) >= 0) and below:
                    return True
                start = None
    return start is not None and (start in OPEN or _cmp(version, start) >= 0)


def covers(row: AffectedSnapshot, version: str) -> bool | None:
    """Whether the row speaks of ``version``: True, False, or None (cannot tell)."""
    if not _parses(version):
        return None
    if not row.has_versions:
        return True
    unsure = False
    listed = [v for v in (row.version, *row.versions) if v]
    for v in listed:
        if not _parses(v):
            unsure = True
        elif _cmp(version, v) == 0:
            return True
    for r in row.all_ranges():
        found = _in_range(version, r)
        if found:
            return True
        unsure = unsure or found is None
    return None if unsure else False


@dataclass(frozen=True)
class Verdict:
    """Why a deployment is hit by one vulnerability: the row that says so and how."""

    row: AffectedSnapshot
    note: str  # "" or what was not known ("customer's version not recorded", ...)


# A product fixed with no version named (a service, fixed in place): every customer of
# it ran the vulnerable service until the fix, so they are told (an exposure advisory
# must reach them), as before vulnerabilities had statuses.
FIXED_IN_PLACE = "fixed in place: its users ran it before the fix"


def _clears(row: AffectedSnapshot) -> bool:
    """A row that says versions it covers are not hit: not affected, or fixed in
    versions it names."""
    return row.status == "not_affected" or row.has_versions


def verdict(rows: Sequence[AffectedSnapshot], version: str) -> Verdict | None:
    """The rule for one vulnerability's rows of the deployment's product (and kind and
    region), its own and the shared ones; ``None``: the deployment is not hit."""
    if not rows:
        return None
    if not _parses(version):
        for row in rows:
            if row.status in HIT or row.status == "fixed":
                note = "customer's version not recorded" if row.has_versions else ""
                return Verdict(row, note)
        return None
    told = {id(row): covers(row, version) for row in rows}
    if any(told[id(r)] is True for r in rows if r.status in CLEAR and _clears(r)):
        return None
    for row in rows:
        if row.status == "fixed" and not row.has_versions:
            return Verdict(row, FIXED_IN_PLACE)
    for row in rows:
        if row.status in HIT and told[id(row)] is True:
            return Verdict(row, "")
    for row in rows:
        if row.status in HIT and told[id(row)] is None:
            return Verdict(row, "the version cannot be compared with the row's")
    if not any(told[id(r)] for r in rows):
        for row in rows:
            if row.default_status.lower() in DEFAULT_HIT:
                return Verdict(row, f"no row lists it; default status {row.default_status}")
    return None
