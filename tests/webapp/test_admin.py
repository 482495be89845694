"""The admin pages: login (argon2, rate limit, cookie flags), CSRF on every form, feeds
with "poll now", the outbox with retry, the subscribers."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from bot.archive import Archive
from bot.config import Config
from bot.models import DeliveryState, Finish
from bot.webapp import admin, auth
from tests.webapp.adminkit import HASH_ENV, PASSWORD, csrf_of, site_config

with warnings.catch_warnings():  # starlette asks for httpx2; httpx is what this project has
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from bot.webapp import create_app


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Config:
    return site_config(monkeypatch)


@pytest.fixture
def client(archive: Archive, site: Config) -> Iterator[TestClient]:
    app = create_app(site, archive.url)
    with TestClient(app, base_url="https://bot.example.org", follow_redirects=False) as c:
        yield c


def _login(client: TestClient, password: str = PASSWORD) -> int:
    form = client.get("/admin/login")
    response = client.post("/admin/login", data={"csrf": csrf_of(form.text), "password": password})
    return response.status_code


@pytest.fixture
def logged_in(client: TestClient) -> TestClient:
    assert _login(client) == 303
    return client


@pytest.fixture
def dead_delivery(archive: Archive) -> int:
    """One delivery that gave up."""
    at = datetime(2026, 11, 30, 8, tzinfo=UTC)
    archive.queue_period("weekly", ["staff@example.org"], at, at)
    (claimed,) = archive.claim_deliveries("test", 60)
    archive.finish_deliveries(
        [Finish(claimed.id, DeliveryState.DEAD, claimed.attempts, error="550 no such user")]
    )
    return claimed.id


def test_admin_pages_send_a_stranger_to_the_login(client: TestClient) -> None:
    for path in ("/admin", "/admin/outbox", "/admin/subscribers"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/admin/login"


def test_admin_is_absent_without_a_password_hash(archive: Archive, site: Config) -> None:
    assert site.web is not None
    web = site.web.model_copy(update={"admin_password_hash_env": ""})
    off = site.model_copy(update={"web": web})
    with TestClient(create_app(off, archive.url)) as c:
        assert c.get("/admin/login").status_code == 404


def test_login_with_the_password_opens_the_feeds_page(logged_in: TestClient) -> None:
    page = logged_in.get("/admin")
    assert page.status_code == 200 and "<h1>Feeds</h1>" in page.text
    assert page.headers["cache-control"] == "no-store"


def test_feeds_page_says_what_reportbot_health_says(
    logged_in: TestClient, archive: Archive
) -> None:
    assert "no worker has completed a tick yet" in logged_in.get("/admin").text
    now = datetime.now(UTC)
    archive.heartbeat("host:1", "test", now)
    assert "Healthy:" in logged_in.get("/admin").text


def test_wrong_password_is_refused(client: TestClient) -> None:
    assert _login(client, "wrong password") == 401
    assert client.get("/admin").status_code == 303


def test_session_cookie_flags(client: TestClient) -> None:
    form = client.get("/admin/login")
    response = client.post("/admin/login", data={"csrf": csrf_of(form.text), "password": PASSWORD})
    cookie = next(
        v for k, v in response.headers.multi_items() if k == "set-cookie" and "rb_session" in v
    ).lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie


def test_forged_session_cookie_is_refused(client: TestClient) -> None:
    client.cookies.set(auth.SESSION_COOKIE, auth.new_session(b"another-key-0123456", "x"))
    assert client.get("/admin").status_code == 303


def test_a_new_password_ends_the_sessions(
    logged_in: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HASH_ENV, auth.hash_password("another long password"))
    assert logged_in.get("/admin").status_code == 303


def test_login_rate_limit_per_ip(client: TestClient) -> None:
    for _ in range(admin.LOGIN_PER_IP.hits):
        assert _login(client, "guess") == 401
    assert _login(client) == 429  # even the right password waits now


def test_login_rate_limit_is_kept_in_the_archive(archive: Archive, site: Config) -> None:
    """Another web process (another app on the same archive) sees the same failures."""
    for _ in range(admin.LOGIN_PER_IP.hits):
        with TestClient(create_app(site, archive.url), base_url="https://bot.example.org") as c:
            assert _login(c, "guess") == 401
    with TestClient(create_app(site, archive.url), base_url="https://bot.example.org") as c:
        assert _login(c) == 429


def test_login_rate_limit_per_account(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failures from many addresses add up for the one account."""
    monkeypatch.setattr(admin, "LOGIN_PER_IP", admin.ratelimit.Limit("login-ip", 1000, 900))
    for _ in range(admin.LOGIN_PER_ACCOUNT.hits):
        assert _login(client, "guess") == 401
    assert _login(client) == 429


def test_parallel_logins_cannot_pass_the_limit_together(
    client: TestClient, archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Attempts in flight at once are each counted before the password is checked: one
    short of the limit, three at once let only one through to the password."""
    buckets = [(admin.ratelimit.bucket(admin.LOGIN_PER_IP, "testclient"), 900.0)]
    for _ in range(admin.LOGIN_PER_IP.hits - 1):
        archive.rate_hit(buckets)
    real = auth.password_ok

    def slow_password_ok(stored: str, given: str) -> bool:
        time.sleep(0.5)  # keeps the three attempts in flight together (argon2 alone is short)
        return real(stored, given)

    monkeypatch.setattr(admin.auth, "password_ok", slow_password_ok)
    token = csrf_of(client.get("/admin/login").text)

    def attempt(_: int) -> int:
        data = {"csrf": token, "password": "guess"}
        return client.post("/admin/login", data=data).status_code

    with ThreadPoolExecutor(3) as pool:
        codes = sorted(pool.map(attempt, range(3)))
    assert codes == [401, 429, 429]


def test_login_without_csrf_is_refused(client: TestClient) -> None:
    client.get("/admin/login")
    assert client.post("/admin/login", data={"password": PASSWORD}).status_code == 403


def test_admin_post_without_csrf_is_refused(logged_in: TestClient, archive: Archive) -> None:
    archive.sync_feeds([("cc", "https://example.org/feed", "CC")])
    assert logged_in.post("/admin/feeds/poll", data={"feed": "cc"}).status_code == 403


def test_admin_post_with_the_public_csrf_field_is_refused(
    logged_in: TestClient, archive: Archive
) -> None:
    """Admin forms are bound to the session: the login form's field does not do."""
    archive.sync_feeds([("cc", "https://example.org/feed", "CC")])
    public = csrf_of(logged_in.get("/subscribe").text)
    data = {"feed": "cc", "csrf": public}
    assert logged_in.post("/admin/feeds/poll", data=data).status_code == 403


def test_poll_now_marks_the_feed_due(
    logged_in: TestClient, archive: Archive, site: Config
) -> None:
    archive.sync_feeds([("cc", "https://example.org/feed", "CC")])
    (state, _), = archive.claim_due(["cc"], "test", lease_seconds=60)
    archive.release(state.id, "test")
    with archive.engine.begin() as conn:  # polled a minute ago, next poll in an hour
        from bot import schema

        later = datetime(2099, 1, 1, tzinfo=UTC)
        conn.execute(schema.feeds.update().values(next_poll_at=later))
    assert archive.claim_due(["cc"], "test", lease_seconds=60) == []
    page = logged_in.get("/admin")
    response = logged_in.post("/admin/feeds/poll", data={"csrf": csrf_of(page.text), "feed": "cc"})
    assert response.status_code == 303
    assert [key for _, key in archive.claim_due(["cc"], "test", lease_seconds=60)] == ["cc"]


def test_retry_of_a_dead_delivery(
    logged_in: TestClient, archive: Archive, dead_delivery: int
) -> None:
    page = logged_in.get("/admin/outbox?state=dead")
    assert "550 no such user" in page.text
    data = {"csrf": csrf_of(page.text), "delivery": str(dead_delivery), "state": "dead"}
    assert logged_in.post("/admin/outbox/retry", data=data).status_code == 303
    (again,) = archive.deliveries()
    assert again.state is DeliveryState.PENDING


def test_retry_with_an_unknown_state_is_refused_and_retries_nothing(
    logged_in: TestClient, archive: Archive, dead_delivery: int
) -> None:
    page = logged_in.get("/admin/outbox?state=dead")
    data = {"csrf": csrf_of(page.text), "delivery": str(dead_delivery), "state": "bogus"}
    assert logged_in.post("/admin/outbox/retry", data=data).status_code == 400
    (still,) = archive.deliveries()
    assert still.state is DeliveryState.DEAD


def test_subscribers_page_shows_config_signups_and_unsubscribes(
    logged_in: TestClient, archive: Archive
) -> None:
    archive.confirm_signup("weekly", "zoë@example.org", "zoë@example.org")
    archive.unsubscribe("internal", "boss@example.org", via="web")
    text = logged_in.get("/admin/subscribers").text
    assert "staff@example.org" in text and "zoë@example.org" in text
    assert "web sign-up" in text and "unsubscribed" in text


def test_logout_ends_the_session(logged_in: TestClient) -> None:
    page = logged_in.get("/admin")
    logged_in.post("/admin/logout", data={"csrf": csrf_of(page.text)})
    assert logged_in.get("/admin").status_code == 303
