"""What every page shares: security headers, error pages, the stylesheet."""

from __future__ import annotations

from starlette.testclient import TestClient

from bot.webapp.base import CSP


def test_every_response_carries_the_security_headers(client: TestClient) -> None:
    for path in ("/", "/item/1", "/no-such-page", "/static/site.css"):
        headers = client.get(path).headers
        assert headers["content-security-policy"] == CSP, path
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert headers["x-frame-options"] == "DENY"


def test_policy_allows_no_inline_script_or_style() -> None:
    assert "unsafe-inline" not in CSP and "script-src" not in CSP  # default-src 'none' holds
    assert "frame-ancestors 'none'" in CSP


def test_unknown_page_is_a_404_page_in_the_layout(client: TestClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "<h1>Not found</h1>" in response.text and 'href="/static/site.css"' in response.text


def test_wrong_method_is_a_405_page(client: TestClient) -> None:
    response = client.post("/item/1")
    assert response.status_code == 405
    assert "<h1>Method not allowed</h1>" in response.text


def test_stylesheet_is_served_as_css(client: TestClient) -> None:
    response = client.get("/static/site.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")


def test_pages_carry_no_script_or_inline_style(client: TestClient) -> None:
    for path in ("/", "/item/1", "/no-such-page"):
        text = client.get(path).text.lower()
        assert "<script" not in text and "style=" not in text and "<style" not in text, path
