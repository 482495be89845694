"""Signing up to a public subscription: the form, the confirmation e-mail and its link,
the manage page; CSRF, rate limits and never telling whether an address is subscribed."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from bot import signup
from bot.archive import Archive
from bot.config import Config
from bot.pipeline import import_files
from bot.pipeline.deliver import _queue, deliver_due
from tests.conftest import DUMP
from tests.smtpsink import Sink
from tests.webapp.adminkit import SECRET, csrf_of, link_in, site_config

with warnings.catch_warnings():  # starlette asks for httpx2; httpx is what this project has
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from bot.webapp import create_app


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch, sink: tuple[Sink, int]) -> Config:
    return site_config(monkeypatch, smtp_port=sink[1])


@pytest.fixture
def client(archive: Archive, site: Config) -> Iterator[TestClient]:
    with TestClient(create_app(site, archive.url), base_url="https://bot.example.org") as c:
        yield c


def _ask(client: TestClient, address: str, sub: str = "weekly") -> str:
    form = client.get("/subscribe")
    response = client.post(
        "/subscribe", data={"csrf": csrf_of(form.text), "address": address, "subscription": sub}
    )
    assert response.status_code == 200, response.text
    return response.text


def _path(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def test_form_lists_only_public_subscriptions(client: TestClient) -> None:
    text = client.get("/subscribe").text
    assert "Weekly reviews" in text and "Internal" not in text


def test_no_public_subscription_means_no_page(archive: Archive, site: Config) -> None:
    private = site.model_copy(update={"subscriptions": site.subscriptions[1:]})
    with TestClient(create_app(private, archive.url)) as c:
        assert c.get("/subscribe").status_code == 404


def test_whole_flow_signs_up_and_unsubscribes(
    client: TestClient, archive: Archive, site: Config, sink: tuple[Sink, int]
) -> None:
    _ask(client, "zoë@example.org")
    assert archive.signups() == []  # nothing before the confirmation
    deliver_due(archive, site, "test-worker")  # the worker sends the queued e-mail
    (mail,) = sink[0].received
    assert mail["To"] == "zoë@example.org" and "Weekly reviews" in mail["Subject"]
    assert mail["List-Unsubscribe"] is None  # its own message, not a digest
    confirm = _path(link_in(mail, "/subscribe/confirm"))
    page = client.get(confirm)
    assert page.status_code == 200 and "Confirm" in page.text
    assert archive.signups() == []  # a GET (a mail scanner's) changes nothing
    token = confirm.split("t=", 1)[1]
    done = client.post("/subscribe/confirm", data={"csrf": csrf_of(page.text), "t": token})
    assert "You are subscribed" in done.text
    assert [(s.subscription, s.address) for s in archive.signups()] == [
        ("weekly", "zoë@example.org")
    ]
    manage = client.get(_path(link_in(mail, "/subscribe/manage")))
    assert "Weekly reviews" in manage.text and "Unsubscribe" in manage.text
    token = manage.text.split('name="t" value="', 1)[1].split('"', 1)[0]
    left = client.post(
        "/subscribe/manage",
        data={"csrf": csrf_of(manage.text), "t": token, "subscription": "weekly"},
    )
    assert "You are unsubscribed" in left.text
    assert "zoë@example.org" in archive.unsubscribed()["weekly"]


def _queued_recipients(archive: Archive, site: Config) -> list[str]:
    """Who the weekly digest of the dump's items is queued for (queued, not sent)."""
    archive.subscription_states(["weekly"], backfill={"weekly": None})  # from the dump on
    import_files(archive, [DUMP])
    sub = site.subscription("weekly")
    _queue(archive, site, subs=[sub], now_period=True, now=datetime.now(UTC))
    return sorted(d.recipient for d in archive.deliveries())


def test_confirmed_signup_receives_the_digest(archive: Archive, site: Config) -> None:
    archive.confirm_signup("weekly", "zoë@example.org", "zoë@example.org")
    assert _queued_recipients(archive, site) == ["staff@example.org", "zoë@example.org"]


def test_signup_of_a_configured_address_is_one_recipient(archive: Archive, site: Config) -> None:
    archive.confirm_signup("weekly", "Staff@Example.org", "staff@example.org")
    assert _queued_recipients(archive, site) == ["staff@example.org"]


def test_unsubscribe_wins_over_a_signup(archive: Archive, site: Config) -> None:
    archive.confirm_signup("weekly", "zoë@example.org", "zoë@example.org")
    archive.unsubscribe("weekly", "zoë@example.org", via="one-click")
    assert _queued_recipients(archive, site) == ["staff@example.org"]


def test_confirming_again_takes_back_an_unsubscribe(archive: Archive) -> None:
    archive.confirm_signup("weekly", "zoë@example.org", "zoë@example.org")
    archive.unsubscribe("weekly", "zoë@example.org", via="web")
    archive.confirm_signup("weekly", "zoë@example.org", "zoë@example.org")
    assert archive.unsubscribed("weekly") == {}


def test_mail_for_a_subscription_no_longer_public_is_not_sent(
    client: TestClient, archive: Archive, site: Config, sink: tuple[Sink, int]
) -> None:
    _ask(client, "zoë@example.org")
    private = site.model_copy(update={"subscriptions": site.subscriptions[1:]})
    deliver_due(archive, private, "test-worker")
    assert sink[0].received == []
    assert archive.signup_mail_counts() == {"dead": 1}


def test_same_page_for_subscribed_and_unknown_addresses(client: TestClient) -> None:
    """staff@ is in the config; nobody@ is not: the answers are the same bytes."""
    known = _ask(client, "staff@example.org")
    unknown = _ask(client, "nobody@example.org")
    assert known == unknown


def test_every_address_gets_the_mail_queued(client: TestClient, archive: Archive) -> None:
    _ask(client, "staff@example.org")
    _ask(client, "nobody@example.org")
    assert archive.signup_mail_counts() == {"pending": 2}


def test_bad_address_is_refused_with_the_form(client: TestClient, archive: Archive) -> None:
    form = client.get("/subscribe")
    response = client.post(
        "/subscribe",
        data={"csrf": csrf_of(form.text), "address": "bob@", "subscription": "weekly"},
    )
    assert response.status_code == 400 and "not an e-mail address" in response.text
    assert archive.signup_mail_counts() == {}


def test_private_subscription_cannot_be_asked_for(client: TestClient, archive: Archive) -> None:
    form = client.get("/subscribe")
    response = client.post(
        "/subscribe",
        data={"csrf": csrf_of(form.text), "address": "a@example.org", "subscription": "internal"},
    )
    assert response.status_code == 400
    assert archive.signup_mail_counts() == {}


def test_post_without_csrf_is_refused(client: TestClient, archive: Archive) -> None:
    client.get("/subscribe")  # the cookie is there, the field is not
    data = {"address": "a@example.org", "subscription": "weekly"}
    response = client.post("/subscribe", data=data)
    assert response.status_code == 403
    assert archive.signup_mail_counts() == {}


def test_post_with_wrong_csrf_is_refused(client: TestClient) -> None:
    client.get("/subscribe")
    data = {"csrf": "0" * 64, "address": "a@example.org", "subscription": "weekly"}
    assert client.post("/subscribe", data=data).status_code == 403


def test_csrf_field_of_another_visitor_is_refused(
    client: TestClient, archive: Archive, site: Config
) -> None:
    """A field only matches the cookie it was made for (double submit)."""
    field = csrf_of(client.get("/subscribe").text)
    with TestClient(create_app(site, archive.url), base_url="https://bot.example.org") as other:
        other.get("/subscribe")  # a cookie of its own
        data = {"csrf": field, "address": "a@example.org", "subscription": "weekly"}
        assert other.post("/subscribe", data=data).status_code == 403


def test_csrf_cookie_flags(client: TestClient) -> None:
    cookie = client.get("/subscribe").headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie


def test_rate_limit_per_address_stops_the_mails_not_the_page(
    client: TestClient, archive: Archive
) -> None:
    pages = {_ask(client, "a@example.org") for _ in range(signup.SUBSCRIBE_PER_ADDRESS.hits + 2)}
    assert len(pages) == 1  # the same answer every time
    assert archive.signup_mail_counts() == {"pending": signup.SUBSCRIBE_PER_ADDRESS.hits}


def test_rate_limit_per_ip_answers_429(client: TestClient) -> None:
    for n in range(signup.SUBSCRIBE_PER_IP.hits):
        _ask(client, f"p{n}@example.org")
    form = client.get("/subscribe")
    data = {"csrf": csrf_of(form.text), "address": "last@example.org", "subscription": "weekly"}
    assert client.post("/subscribe", data=data).status_code == 429


def test_confirm_link_signed_with_another_key_is_refused(client: TestClient) -> None:
    token = signup.confirm_token(b"another-key-0123456789", "weekly", "a@example.org")
    assert client.get(f"/subscribe/confirm?t={token}").status_code == 400


def test_manage_token_is_not_a_confirm_token(client: TestClient) -> None:
    token = signup.manage_token(SECRET.encode(), "a@example.org")
    assert client.get(f"/subscribe/confirm?t={token}").status_code == 400


def test_expired_confirm_link_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    token = signup.confirm_token(SECRET.encode(), "weekly", "a@example.org")
    assert signup.read_confirm_token(SECRET.encode(), token) == ("weekly", "a@example.org")
    monkeypatch.setattr(signup, "CONFIRM_MAX_AGE", -1)  # the clock moved past its age
    assert signup.read_confirm_token(SECRET.encode(), token) is None


def test_manage_page_needs_a_signed_link(client: TestClient) -> None:
    assert client.get("/subscribe/manage?t=forged").status_code == 400
