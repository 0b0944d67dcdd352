"""csaf-validator-lib, the CSAF validator consumers run, when it is installed.

The BSI/secvisogram library (npm ``@secvisogram/csaf-validator-lib``) runs in Node.js:
``csaf_validator.mjs`` gives it many documents at once and answers with the problems
of each (the JSON schema tests and every mandatory test of CSAF 2.0 section 6.1,
through ``validateStrict``). It is found under ``HERALD_CSAF_VALIDATOR_DIR`` (the
directory ``npm ci`` installed it in), by default the checkout's
``herald/publishing/tests/validators``. Herald's own checks (``schemas.csaf_problems``)
run either way; this adds the consumers' verdict when it can.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from django.conf import settings

from herald.core.errors import HeraldError

SCRIPT = Path(__file__).with_name("csaf_validator.mjs")
CHECKOUT_DIR = Path(__file__).parent.parent / "tests" / "validators"
LIBRARY = Path("node_modules", "@secvisogram", "csaf-validator-lib", "validateStrict.js")
INSTALL_HINT = (
    "install it with `npm ci --prefix herald/publishing/tests/validators` in a checkout, "
    "or `npm install --prefix DIR @secvisogram/csaf-validator-lib` and set "
    "HERALD_CSAF_VALIDATOR_DIR=DIR"
)


def validator_dir() -> Path:
    configured = str(getattr(settings, "HERALD_CSAF_VALIDATOR_DIR", "") or "")
    return Path(configured) if configured else CHECKOUT_DIR


def unavailable() -> str:
    """Why csaf-validator-lib cannot run here; "" when it can."""
    if shutil.which("node") is None:
        return f"Node.js (node) is not installed; {INSTALL_HINT}"
    if not (validator_dir() / LIBRARY).is_file():
        return f"csaf-validator-lib is not installed in {validator_dir()}; {INSTALL_HINT}"
    return ""


def validate_many(documents: dict[str, Any]) -> dict[str, list[str]]:
    """name -> problems ("path: test message") for each document, in one node process."""
    if not documents:
        return {}
    why = unavailable()
    if why:
        raise HeraldError(f"csaf-validator-lib cannot run: {why}")
    node = shutil.which("node") or "node"
    try:
        completed = subprocess.run(  # noqa: S603  fixed program and script, data on stdin
            [node, str(SCRIPT), str(validator_dir())],
            input=json.dumps(documents).encode("utf-8"),
            capture_output=True,
            timeout=600,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HeraldError(f"csaf-validator-lib did not run: {exc}") from exc
    if completed.returncode != 0:
        tail = completed.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise HeraldError(f"csaf-validator-lib failed: {' / '.join(tail)}")
    results: dict[str, list[str]] = json.loads(completed.stdout)
    return results
