"""The text gatekeeper on its own: what it refuses, what it keeps, what it shows."""

from __future__ import annotations

import pytest

from herald.core.errors import ValidationError
from herald.core.text import check_text, uri, visible


def refusal(value: str, kind: str = "line") -> str:
    with pytest.raises(ValidationError) as exc:
        check_text(value, "field", kind=kind)  # type: ignore[arg-type]
    return exc.value.message_dict["field"][0]


@pytest.mark.parametrize(
    "char",
    ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9f", "\u202a", "\u202e", "\u2066", "\u2069",
     "\ud800", "\ufdd0", "\ufffe", "\uffff"],
)  # fmt: skip
def test_it_refuses_each_control_bidi_and_noncharacter(char: str) -> None:
    assert f"U+{ord(char):04X}" in refusal(f"a{char}b")


def test_the_error_says_where_the_character_is_and_what_it_is() -> None:
    message = refusal("abc\u202edef")
    assert "RIGHT-TO-LEFT OVERRIDE" in message and "character 4" in message


def test_it_keeps_tabs_newlines_marks_emoji_and_right_to_left_scripts() -> None:
    hebrew, arabic, emoji = (
        "\u05e2\u05d1\u05e8\u05d9\u05ea",
        "\u0627\u0644\u0639\u0631\u0628\u064a\u0629",
        "🔥 👩\U0001f3fd\u200d💻",
    )
    text = f"a\tb\n{hebrew}\u200f {arabic} {emoji}"
    assert check_text(text, "field", kind="text") == text


def test_lines_become_one_line_and_texts_get_plain_newlines() -> None:
    assert check_text("  a \n b\t c ", "field") == "a b c"
    assert check_text("\n\na\r\nb\rc\n\n", "field", kind="text") == "a\nb\nc"


@pytest.mark.parametrize(
    "markdown",
    ["[x](javascript:alert(1))", "<vbscript:x>", "![i](data:text/html,x)",
     "[r]\n\n[r]: file:///etc", "[t](jav&#x09;ascript:alert(1))"],
)  # fmt: skip
def test_markdown_links_go_only_to_http_and_mailto(markdown: str) -> None:
    assert "http(s) or mailto" in refusal(markdown, "markdown")


def test_markdown_keeps_http_mailto_and_relative_links_and_code_about_javascript() -> None:
    text = "[a](https://x.example) <mailto:a@x.example> [b](/a:b) `[x](javascript:y)`"
    assert check_text(text, "field", kind="markdown") == text


def test_visible_shows_a_stand_in_for_each_refused_character() -> None:
    assert visible("a\x07b\x1b[2J\x7f\u202ec\x85") == "a\u2407b\u241b[2J\u2421\ufffdc\ufffd"
    check_text(visible("a\x07\u202e\x00"), "field")


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ('https://example.com/a?b=<c>&d="e"', "https://example.com/a?b=%3Cc%3E&d=%22e%22"),
        ("https://example.com/é path#a#b", "https://example.com/%C3%A9%20path#a%23b"),
        ("https://example.com/100%", "https://example.com/100%25"),
        ("https://[::1]:8443/a?x=%20", "https://[::1]:8443/a?x=%20"),
    ],
)
def test_a_reference_url_is_kept_as_a_uri_the_schemas_accept(given: str, kept: str) -> None:
    from jsonschema import Draft202012Validator

    assert uri(given) == kept
    assert uri(kept) == kept  # a valid URI is left as it is
    checker = Draft202012Validator.FORMAT_CHECKER
    assert checker.conforms(kept, "uri"), kept
