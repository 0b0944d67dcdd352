"""herald/settings.py is the one module that reads Herald's environment.

Every other module reads ``django.conf.settings`` (``settings.HERALD_ENV`` for the
values an app parses itself). The exceptions run before the settings exist, or
are the test harness; each says why in a comment where it reads.
"""

from __future__ import annotations

import ast
from pathlib import Path

HERALD = Path(__file__).resolve().parents[2]

ALLOWED = {
    "settings.py": "the settings module itself",
    "home.py": "HERALD_HOME and DATABASE_URL are needed to decide whether a desk exists "
    "before the settings may be imported (importing them creates HERALD_HOME)",
    "cli.py": "the entry point sets DJANGO_SETTINGS_MODULE (and a throw-away key for help) "
    "before the settings load",
    "wsgi.py": "sets DJANGO_SETTINGS_MODULE before the settings load",
    "test.py": "the test harness (CI, HERALD_SHARED), not a setting of the product",
}


def environment_reads(source: str) -> list[int]:
    """Lines that read ``os.environ``/``os.getenv``; a copy handed to a child
    process (``{**os.environ, ...}``) is not a read of a setting."""
    tree = ast.parse(source)
    passed_on: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            passed_on.update(
                id(v) for k, v in zip(node.keys, node.values, strict=True) if k is None
            )
    lines = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(alias.name in ("environ", "getenv", "environb") for alias in node.names)
        ):
            lines.append(node.lineno)
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
            and node.attr in ("environ", "getenv", "environb", "putenv")
            and id(node) not in passed_on
        ):
            lines.append(node.lineno)
    return sorted(lines)


def test_only_the_settings_module_reads_the_environment() -> None:
    offenders = []
    for path in sorted(HERALD.rglob("*.py")):
        relative = path.relative_to(HERALD)
        if "tests" in relative.parts or "migrations" in relative.parts:
            continue
        if str(relative) in ALLOWED:
            continue
        offenders += [f"herald/{relative}:{n}" for n in environment_reads(path.read_text())]
    assert offenders == [], "read django.conf.settings (HERALD_ENV) instead: " + ", ".join(
        offenders
    )


def test_the_scan_sees_reads_and_lets_copies_for_child_processes_pass() -> None:
    assert environment_reads("import os\nx = os.environ.get('HERALD_X')\n") == [2]
    assert environment_reads("import os\nx = os.getenv('HERALD_X')\n") == [2]
    assert environment_reads("from os import environ\n") == [1]
    assert environment_reads("import os\nenv = {**os.environ, 'A': '1'}\n") == []


def test_every_allowed_module_says_why_where_it_reads() -> None:
    for name in ALLOWED:
        if name == "settings.py":
            continue
        text = (HERALD / name).read_text()
        assert "before the settings" in text or "test harness" in text, name
