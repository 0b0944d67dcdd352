"""Files given to the CLI's importers: too big, endless, binary or nested too deep
are refused with an error naming the file, and nothing is imported."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from herald.advisories.models import Advisory
from herald.core.errors import ValidationError
from herald.core.input_files import MAX_JSON_DEPTH, read_input_file, too_deep
from herald.notify.models import Customer
from herald.test import HeraldTestCase


def nested(depth: int) -> str:
    """JSON lists nested ``depth`` levels deep."""
    return "[" * depth + "]" * depth


class ImportersRefuseBadFiles(HeraldTestCase):
    @pytest.fixture(autouse=True)
    def _tmp(self, tmp_path: Path) -> None:
        self.tmp = tmp_path

    def refused(self, *args: str) -> str:
        err = StringIO()
        with pytest.raises(CommandError) as caught:
            call_command(*args, stdout=StringIO(), stderr=err)
        # 1 for a customer file's bad rows, named by line; 2 for other bad input.
        assert caught.value.returncode in (1, 2), err.getvalue()
        assert Advisory.objects.count() == 0 and Customer.objects.count() == 0
        return err.getvalue()

    def file(self, name: str, content: str | bytes) -> str:
        path = self.tmp / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return str(path)

    def test_an_endless_device_is_refused_at_the_limit_not_read_until_memory_runs_out(
        self,
    ) -> None:
        err = self.refused("import", "osv", "/dev/urandom")
        assert err == "error: /dev/urandom: is larger than 64 MiB, the limit for an input file.\n"

    def test_json_nested_past_the_parsers_recursion_is_named_not_a_traceback(self) -> None:
        deep = self.file("deep.json", nested(100_000))
        assert self.refused("import", "osv", deep) == (
            f"error: {deep}: nests deeper than 64 levels; no Herald input does.\n"
        )
        assert self.refused("customers", "import", deep) == (
            "error: The file was not imported: 1 bad row(s).\n"
            "line 1: this item nests deeper than 64 levels; no Herald input does.\n"
        )
        assert self.refused("advisory", "create", "--from-json", deep) == (
            f"error: --from-json: {deep} nests deeper than 64 levels; no Herald input does.\n"
        )

    def test_json_deeper_than_the_limit_but_parseable_is_refused_too(self) -> None:
        deep = self.file("deep.json", nested(MAX_JSON_DEPTH + 1))
        assert "nests deeper than 64 levels" in self.refused("import", "csaf", deep)
        assert "nests deeper than 64 levels" in self.refused("customers", "import", deep)

    def test_binary_and_non_utf8_files_are_named(self) -> None:
        binary = self.file("customers.csv", b"customer_id,organisation\n1,\x00\x01\x02\n")
        assert self.refused("customers", "import", binary) == (
            f"error: file: {binary} is binary, not text (a NUL byte on line 2).\n"
        )
        latin = self.file("osv.json", '{"id": "caf\xe9"}'.encode("latin-1"))
        assert self.refused("import", "osv", latin) == (
            f"error: {latin}: is not UTF-8 text (line 1); save it as UTF-8.\n"
        )

    def test_every_unreadable_document_is_named_at_once(self) -> None:
        err = self.refused("import", "osv", "/nonexistent/a.json", str(self.tmp))
        assert err == (
            "error: /nonexistent/a.json: cannot be read: No such file or directory.\n"
            f"error: {self.tmp}: cannot be read: Is a directory.\n"
        )


def test_a_file_of_exactly_the_limit_is_read_and_one_byte_more_is_not(tmp_path: Path) -> None:
    path = tmp_path / "input"
    path.write_bytes(b"x" * 1024)
    assert len(read_input_file(str(path), limit=1024)) == 1024
    path.write_bytes(b"x" * 1025)
    with pytest.raises(ValidationError, match="larger than 1024 bytes"):
        read_input_file(str(path), limit=1024)


def test_standard_input_is_bounded_too() -> None:
    with pytest.raises(ValidationError, match="standard input is larger than 1024 bytes"):
        read_input_file("-", stdin=StringIO("x" * 2048), limit=1024)


def test_depth_counts_lists_and_objects_without_recursing() -> None:
    assert not too_deep(json.loads(nested(MAX_JSON_DEPTH)))
    assert too_deep(json.loads(nested(MAX_JSON_DEPTH + 1)))
    assert not too_deep({"a": [{"b": 1}]}, limit=3)
    assert too_deep({"a": [{"b": []}]}, limit=3)
