"""The URL policy: only absolute http(s) links survive."""

from __future__ import annotations

import pytest

from bot.urls import safe_url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "\x01javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "mailto:someone@example.org",
        "ftp://example.org/x",
        "http://",
        "https:///path-only",
        "",
        "http://[::1",
    ],
)
def test_unsafe_urls_are_not_links(url: str) -> None:
    assert safe_url(url) == ""


def test_hidden_scheme_is_not_resolved_as_a_path() -> None:
    assert safe_url("java\tscript:alert(1)", base="https://example.org/feed/") == ""


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("https://example.org/a?b=1#c", None, "https://example.org/a?b=1#c"),
        ("HTTP://Example.org/", None, "HTTP://Example.org/"),
        ("/news/1", "https://example.org/feed/", "https://example.org/news/1"),
        ("story", "https://example.org/feed/", "https://example.org/feed/story"),
        ("//cdn.example.org/x", "https://example.org/", "https://cdn.example.org/x"),
        ("  https://example.org/a b  ", None, "https://example.org/a%20b"),
    ],
)
def test_http_links_resolve_and_survive(url: str, base: str | None, expected: str) -> None:
    assert safe_url(url, base=base) == expected


def test_relative_link_without_base_is_dropped() -> None:
    assert safe_url("/news/1") == ""
