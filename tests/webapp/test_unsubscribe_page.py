"""The e-mails' unsubscribe link on the site: GET asks, POST (button or RFC 8058 one-click)
unsubscribes; the real-port flow with a delivery is tests/test_unsubscribe.py."""

from __future__ import annotations

from starlette.testclient import TestClient

from bot import weblinks
from bot.archive import Archive
from bot.config import WebConfig
from tests.webapp.conftest import SECRET


def _path(web_config: WebConfig, address: str) -> str:
    link = weblinks.unsubscribe_link(web_config, SECRET.encode(), "weekly", address)
    return link.removeprefix(web_config.public_url)


def test_get_asks_with_a_button_posting_to_the_same_link(
    client: TestClient, web_config: WebConfig, filled: Archive
) -> None:
    path = _path(web_config, "ask@example.org")
    page = client.get(path).text
    assert f'<form method="post" action="{path.replace("&", "&amp;")}">' in page
    assert "ask@example.org" in page
    assert "ask@example.org" not in filled.unsubscribed().get("weekly", set())


def test_the_page_showing_the_address_is_never_cached(
    client: TestClient, web_config: WebConfig
) -> None:
    path = _path(web_config, "zoë@example.org")
    assert client.get(path).headers["cache-control"] == "no-store"
    posted = client.post(path, content=b"List-Unsubscribe=One-Click")
    assert posted.headers["cache-control"] == "no-store"


def test_one_click_post_unsubscribes(
    client: TestClient, web_config: WebConfig, filled: Archive
) -> None:
    response = client.post(
        _path(web_config, "Click@Example.org"),
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200 and "You are unsubscribed." in response.text
    assert "click@example.org" in filled.unsubscribed()["weekly"]


def test_a_forged_signature_is_403(client: TestClient, web_config: WebConfig) -> None:
    path = _path(web_config, "a@example.org").replace("a%40example.org", "b%40example.org")
    assert client.post(path).status_code == 403


def test_without_web_config_there_is_no_unsubscribe_page(bare_client: TestClient) -> None:
    assert bare_client.get("/unsubscribe?s=weekly&a=a@example.org&t=x").status_code == 404


def test_the_address_is_escaped(client: TestClient, web_config: WebConfig) -> None:
    page = client.get(_path(web_config, '"<script>alert(1)</script>"@example.org')).text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
