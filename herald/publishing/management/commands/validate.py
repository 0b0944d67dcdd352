"""``herald validate``: re-validate every published file; non-zero exit naming each problem.

Named ``validate`` because Django's own ``check`` command (system checks) keeps
its name.
"""

from __future__ import annotations

import re
from argparse import ArgumentParser
from collections import Counter
from collections.abc import Iterable
from typing import Any

from herald.core.cli_support import EXIT_REFUSED, HeraldCommand
from herald.publishing.site.validate import validate_artifacts

GROUP_FROM = 3  # problems of one kind before they make one entry
NAMED = 5  # the others such an entry names; --json lists every one
_NUMBER = re.compile(r"\d+")


def grouped(lines: Iterable[str]) -> list[str]:
    """``path: message`` lines, problems of one kind (the same words, numbers and ids
    aside) that GROUP_FROM or more files share as one entry.

    A desk with one mistake repeated (a missing file per advisory) would otherwise
    print the same sentence once per document. The entry keeps the first line whole,
    how many there are, and which files (or, in one file, which lines) the others are.
    """
    kinds: dict[str, list[tuple[str, str]]] = {}
    for line in lines:
        path, _, message = line.partition(": ")
        kinds.setdefault(_NUMBER.sub("#", line), []).append((path, message))
    out: list[str] = []
    for same in kinds.values():
        if len(same) < GROUP_FROM:
            out.extend(f"{path}: {message}" if message else path for path, message in same)
            continue
        (path, message), others = same[0], same[1:]
        one_file = len({p for p, _ in same}) == 1
        names = [m if one_file else p for p, m in others]
        rest = f" and {len(names) - NAMED} more (--json lists each)" if len(names) > NAMED else ""
        out.append(f"{len(same)} problems like: {path}: {message}")
        out.append(f"  also {', '.join(names[:NAMED])}{rest}")
    return out


class Command(HeraldCommand):
    help = (
        "Check every stored public file as a consumer would: OSV documents (the official\n"
        "OSV schema), the CSAF documents (schema rules and the CSAF 2.0 mandatory tests,\n"
        "by csaf-validator-lib too when Node.js and it are installed), their .sha256,\n"
        ".sha512 and .asc files, the CSAF provider metadata, index, changes and ROLIE\n"
        "feed, the CVE records and CNA containers, security.txt's fields, and that every\n"
        "public advisory has its documents. Prints one line per problem and exits 1 if\n"
        "there is any, 0 otherwise."
    )
    epilog = "examples:\n  herald validate\n  herald validate --json"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        report = validate_artifacts()
        if options["json"]:
            self.write_json(
                {"checked": report.checked, "problems": report.problems, "notes": report.notes}
            )
        else:
            for line in grouped(report.problems):
                self.stdout.write(line)
            for note, times in Counter(report.notes).items():  # each said once
                self.stdout.write(f"note: {note}" + (f" ({times} times)" if times > 1 else ""))
            self.stdout.write(
                f"{report.checked} file(s) checked, {len(report.problems)} problem(s)."
            )
        if report.problems:
            self.fail([f"{len(report.problems)} problem(s) in the published files"], EXIT_REFUSED)
