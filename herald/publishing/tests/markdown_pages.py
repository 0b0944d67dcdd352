"""Pages for the Markdown tests: one written by hand with every kind of advisory.

``BR`` is the two trailing spaces that make a Markdown line break in the template;
it is spelled out so that no editor strips it.
"""

from __future__ import annotations

from pathlib import Path

BR = "  "
SP = " "  # a single trailing space, kept as the vendor wrote it
EXPECTED = Path(__file__).resolve().parent / "expected"

HEAD = f"""---
title: Security advisories & CVEs
sidebar: Handbook
showTitle: true
---

Northwind publishes every security advisory here. ✓{BR}

## Our approach to security advisories

We audit, we disclose, we tell you.

## Reporting security issues

Write to **[security@example.com](mailto:security@example.com)**.

## Updating this page

Only within an incident.

## Security best practices

- **Use MFA** - always.
"""

TEMPLATE = f"""### Advisory template

```
**Date:** January 15, 2024{BR}
**CVE:** CVE-2024-XXXXX{BR}
**Severity:** Low / Medium / Critical{BR}
**Status:** Reported / Fixed / Resolved{BR}

**Description:**{BR}
Brief description of the vulnerability and its potential impact.
```
"""

CURRENT = f"""## Current advisories

### Übergroße Uploads crash the ingestion worker — 日本語 too

**Date:** March 3, 2026{BR}
**CVE:** CVE-2026-10001, CVE-2026-10002{BR}
**Severity:** Critical{BR}
**Status:** Reported{BR}

**Description:**{BR}
A crafted upload of more than 2 GiB crashed the worker, «and stalled ingestion».

A second paragraph, with a **bold** word and a [link](https://example.com/ä).

**Affected users:**
Cloud customers in the EU region.{BR}

**Resolution:**{BR}
We are working on a fix; no action is needed yet.

**Timeline:**{BR}
- **Reported:** March 1, 2026
- **Disclosed:** March 3, 2026

### Session tokens logged in plain text

**Date:** February 20, 2026{BR}
**CVE:** CVE-2026-20001{BR}
**Severity:** High{BR}
**Status:** Fixed{BR}

**Description:**{BR}
Session tokens were written to an internal log.

**Affected users:**
Self-hosted and US cloud users.

**Resolution:**{BR}
Fixed in [#1234](https://github.com/example/app/pull/1234). Rotate your tokens.{SP}

**Timeline:**{BR}
- **Discovered:** February 10, 2026
- **Reported:** February 11, 2026
- **Fixed:** February 12, 2026
- **Disclosed:** February 20, 2026
"""

PAST = f"""## Past advisories

This section contains resolved security advisories for reference.

### Open redirect on the login page

**Date:** January 9, 2026{BR}
**CVE:** None{BR}
**Severity:** Medium{BR}
**Status:** Resolved{BR}

**Description:**{BR}
The `next` parameter accepted any host.

**Affected users:**
All users.

**Resolution:**{BR}
Fixed; only relative paths are accepted now.

**Timeline:**{BR}
- **Discovered:** January 2, 2026
- **Reported:** January 2, 2026
- **Fixed:** January 5, 2026
- **Disclosed:** January 9, 2026

### Weak password hashing in exports

**Date:** December 1, 2025{BR}
**CVE:** CVE-2025-30001{BR}
**Severity:** Low{BR}
**Status:** Withdrawn{BR}

**Reason for withdrawal:**{BR}
Published in error: the exports never contained password hashes.

**Description:**{BR}
Exports were said to contain weakly hashed passwords.

**Affected users:**
Nobody, as it turned out.

**Resolution:**{BR}
None needed.

**Timeline:**{BR}
- **Reported:** November 28, 2025
- **Disclosed:** December 1, 2025
"""

# Two current advisories (Reported/Critical, Fixed/High) and two past ones
# (Resolved/Medium, Withdrawn/Low): every severity and every status.
FULL_PAGE = "\n".join([HEAD, CURRENT, PAST, TEMPLATE])

FIRST_TITLE = "Übergroße Uploads crash the ingestion worker — 日本語 too"


def line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    """The 1-based line number of the ``occurrence``-th line containing ``fragment``."""
    seen = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if fragment in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{fragment!r} is not in the page")
