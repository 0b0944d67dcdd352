"""Reading the files people give the CLI: bounded, text only, JSON not too deep.

Every importer reads its input here (``herald import``, ``herald customers
import``, ``herald advisory --from-json`` and ``--description-file``), so each
refuses the same way, with an error that names the file and the limit:

- at most ``MAX_INPUT_BYTES`` are read, from a file, a device or a pipe alike
  (``/dev/urandom`` is refused after the limit, not read until memory runs out);
- text must be UTF-8 without NUL bytes (a binary file is named as such);
- JSON may nest ``MAX_JSON_DEPTH`` levels: deeper is no advisory or customer
  list, and would exhaust the parser's recursion.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from herald.core.errors import ValidationError

__all__ = [
    "MAX_INPUT_BYTES",
    "MAX_JSON_DEPTH",
    "TOO_DEEP",
    "decode_text",
    "load_json",
    "read_input_file",
    "refusal",
    "too_deep",
]

MAX_INPUT_BYTES = 64 * 1024 * 1024  # a CSAF or OSV file is kilobytes; 500,000 customers fit
MAX_JSON_DEPTH = 64  # CSAF's product tree, the deepest in use, needs about 15


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit} bytes"


def refusal(name: str, field: str, problem: str) -> ValidationError:
    """``{field: "NAME problem"}``; just the problem when the field is the file's name."""
    return ValidationError({field: problem if field == name else f"{name} {problem}"})


def read_input_file(
    path: str,
    *,
    stdin: TextIO | None = None,
    field: str = "file",
    limit: int = MAX_INPUT_BYTES,
) -> bytes:
    """The bytes of ``path`` (``-``: ``stdin``), refused beyond ``limit``."""
    name = "standard input" if path == "-" else path
    too_big = refusal(name, field, f"is larger than {_size(limit)}, the limit for an input file.")
    if path == "-":
        source = stdin
        if source is None:
            raise refusal(name, field, "is not available.")
        binary = getattr(source, "buffer", None)
        raw = binary.read(limit + 1) if binary is not None else source.read(limit + 1).encode()
        if len(raw) > limit:
            raise too_big
        return raw
    try:
        with Path(path).open("rb") as fh:
            # A device or a pipe has no size to look at first: read one byte past
            # the limit to know it is over, and no more.
            raw = fh.read(limit + 1)
    except OSError as exc:
        raise refusal(name, field, f"cannot be read: {exc.strerror or exc}.") from None
    if len(raw) > limit:
        raise too_big
    return raw


def decode_text(raw: bytes, name: str, *, field: str = "file") -> str:
    """UTF-8 text, or an error naming the line where it stops being text."""
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise refusal(name, field, f"is binary, not text (a NUL byte on line {line}).")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise refusal(name, field, f"is not UTF-8 text (line {line}); save it as UTF-8.") from None


def too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``value`` nests lists and objects deeper than ``limit``; no recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


TOO_DEEP = f"nests deeper than {MAX_JSON_DEPTH} levels; no Herald input does."


def load_json(raw: bytes | str, name: str, *, field: str = "file") -> Any:
    """The JSON document in ``raw``; refused when not text, not JSON, or too deep."""
    text = decode_text(raw, name, field=field) if isinstance(raw, bytes) else raw
    try:
        data = json.loads(text)
    except RecursionError:
        raise refusal(name, field, TOO_DEEP) from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise refusal(name, field, f"is not JSON: {exc.msg} ({where}).") from None
    if too_deep(data):
        raise refusal(name, field, TOO_DEEP)
    return data
