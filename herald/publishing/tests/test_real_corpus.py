"""Every real document kept in tests/real passes the validator its consumers run.

The documents (``real/osv``, ``real/cve``, ``real/csaf``) are public vulnerability
documents kept byte for byte with their source in ``real/SOURCE.md``. They are test
data for imports and round trips (``roundtrip.py``), so each must be valid as
published: OSV against the official OSV schema (../shared/schemas/osv), CVE records
against the CVE 5.1.1 schemas cvelib ships, CSAF through csaf-validator-lib (the
JSON schemas and every mandatory test of CSAF 2.0 section 6.1).

No Herald code is imported: the checks run the validators directly, so a failure
here is about the document, not about Herald.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, Draft202012Validator

from herald.test import SHARED, unavailable

REAL = Path(__file__).parent / "real"
KINDS = ("osv", "cve", "csaf")
CHECKOUT = Path(__file__).resolve().parents[3]
CSAF_SCRIPT = CHECKOUT / "herald" / "publishing" / "render" / "csaf_validator.mjs"
CSAF_DIR = Path(__file__).parent / "validators"
CSAF_LIBRARY = CSAF_DIR / "node_modules" / "@secvisogram" / "csaf-validator-lib"


def documents(kind: str) -> dict[str, Any]:
    return {p.name: json.loads(p.read_bytes()) for p in sorted((REAL / kind).glob("*.json"))}


@cache
def osv_validator() -> Draft202012Validator:
    path = SHARED / "schemas" / "osv" / "schema.json"
    if not path.is_file():
        unavailable(f"{path} not found: ../shared exists only in development and CI")
    schema = json.loads(path.read_text("utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@cache
def cve_validator() -> Draft7Validator:
    text = (
        resources.files("cvelib")
        .joinpath("schemas", "CVE_JSON_bundled_5.1.1.json")
        .read_text(encoding="utf-8")
    )
    return Draft7Validator(json.loads(text), format_checker=Draft7Validator.FORMAT_CHECKER)


def schema_problems(validator: Draft7Validator | Draft202012Validator, doc: Any) -> list[str]:
    return [
        "/" + "/".join(str(p) for p in error.absolute_path) + f": {error.message[:200]}"
        for error in validator.iter_errors(doc)
    ]


def csaf_problems(docs: dict[str, Any]) -> dict[str, list[str]]:
    """name -> problems from csaf-validator-lib's validateStrict, in one node process."""
    node = shutil.which("node")
    if node is None or not (CSAF_LIBRARY / "validateStrict.js").is_file():
        unavailable(
            "csaf-validator-lib is not installed: "
            "`npm ci --prefix herald/publishing/tests/validators`"
        )
    completed = subprocess.run(  # fixed program and script, data on stdin
        [str(node), str(CSAF_SCRIPT), str(CSAF_DIR)],
        input=json.dumps(docs).encode("utf-8"),
        capture_output=True,
        timeout=600,
        check=True,
    )
    results: dict[str, list[str]] = json.loads(completed.stdout)
    return results


def problems_of(kind: str, docs: dict[str, Any]) -> dict[str, list[str]]:
    if kind == "csaf":
        return csaf_problems(docs)
    validator = osv_validator() if kind == "osv" else cve_validator()
    return {name: schema_problems(validator, doc) for name, doc in docs.items()}


@pytest.mark.parametrize("kind", KINDS)
def test_every_kept_document_passes_its_consumers_validator(kind: str) -> None:
    docs = documents(kind)
    assert len(docs) >= 6, f"real/{kind} holds {len(docs)} documents"
    results = problems_of(kind, docs)
    failing = {name: found[:5] for name, found in results.items() if found}
    assert failing == {}, json.dumps(failing, indent=1)
    assert set(results) == set(docs)


BREAKAGE = {
    # one field made invalid per kind: the validator must name the document
    "osv": lambda d: d.update(affected="every version"),
    "cve": lambda d: d["cveMetadata"].update(state="DRAFTED"),
    "csaf": lambda d: d["document"].update(category=""),
}


@pytest.mark.parametrize("kind", KINDS)
def test_the_validators_can_fail(kind: str) -> None:
    name, doc = next(iter(documents(kind).items()))
    broken = copy.deepcopy(doc)
    BREAKAGE[kind](broken)
    assert problems_of(kind, {name: broken})[name], f"{kind}: a broken {name} passed"


def test_source_md_names_every_kept_document_once() -> None:
    """Each file has its row (repository, path, commit, why) and each row its file."""
    source = (REAL / "SOURCE.md").read_text("utf-8")
    rows = re.findall(r"^\| `?((?:osv|cve|csaf)/[^|`]+\.json)`? \|(.+)\|$", source, re.M)
    listed = [name for name, _ in rows]
    kept = sorted(f"{kind}/{p.name}" for kind in KINDS for p in (REAL / kind).glob("*.json"))
    assert sorted(listed) == kept
    for name, rest in rows:
        cells = [c.strip() for c in rest.split("|")]
        assert len(cells) == 4 and all(cells), f"{name}: source, path, commit and why"
        assert re.fullmatch(r"[0-9a-f]{40}", cells[2]), f"{name}: commit {cells[2]!r}"
