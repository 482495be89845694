"""Subscribe and admin in a real browser: Debian's Chromium driven by Playwright over a
real uvicorn server on 127.0.0.1, the confirmation e-mail caught by aiosmtpd. Every form
is used with the keyboard alone (Tab to the field or button, type, Enter or Space).
Screenshots go to state/screenshots/ (ignored by git)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot.archive import Archive
from bot.config import Config
from bot.models import DeliveryState, Finish
from bot.pipeline.deliver import deliver_due
from bot.webapp import create_app
from bot.webapp.serve import Background
from tests.conftest import CHROMIUM_FLAGS, ROOT
from tests.smtpsink import Sink, free_port
from tests.webapp.adminkit import PASSWORD, link_in, site_config

pytestmark = pytest.mark.slow  # a browser and a server: `make test` runs it, `make check` not

CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "state" / "screenshots"
WIDTHS = (375, 1280)

if TYPE_CHECKING := False:
    from playwright.sync_api import ConsoleMessage, Page


@pytest.fixture
def served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sink: tuple[Sink, int]
) -> Iterator[tuple[str, Archive, Config]]:
    """The site on a real server over a SQLite archive: (base URL, archive, config)."""
    cfg = site_config(monkeypatch, smtp_port=sink[1])
    archive = Archive(f"sqlite:///{tmp_path / 'archive.db'}")
    archive.upgrade()
    port = free_port()
    server = Background(create_app(cfg, archive.url), f"127.0.0.1:{port}").start()
    try:
        yield f"http://127.0.0.1:{port}", archive, cfg
    finally:
        server.shutdown()
        archive.close()


@pytest.fixture
def browser_page() -> Iterator[Page]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is required in CI (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_FLAGS))
        page = browser.new_page(viewport={"width": WIDTHS[0], "height": 800})
        errors: list[str] = []
        page.on("console", lambda m: _console_error(m, errors))
        page.on("dialog", lambda d: errors.append(f"dialog: {d.message}"))
        yield page
        browser.close()
        assert errors == []  # no script ran, nothing was blocked or broken


def _console_error(message: ConsoleMessage, errors: list[str]) -> None:
    # the browser asks for /favicon.ico by itself; the site has none (a 404 is its answer)
    if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
        errors.append(f"{message.text} at {message.location}")


def _tab_to(page: Page, selector: str, limit: int = 60) -> None:
    """Press Tab until the element matching `selector` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def _shots(page: Page, name: str) -> None:
    """A screenshot at each width; the page must not scroll sideways at either."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{name} scrolls sideways at {width} px"
    page.set_viewport_size({"width": WIDTHS[0], "height": 800})


def _no_serious_violations(page: Page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    serious = [
        v["id"] for v in results.response["violations"] if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], results.generate_report()


def _local(link: str, base: str) -> str:
    """A link from the e-mail (on the public URL), on the server under test."""
    parts = urlsplit(link)
    return f"{base}{parts.path}?{parts.query}"


def test_subscribe_confirm_and_unsubscribe_with_the_keyboard(
    served: tuple[str, Archive, Config], browser_page: Page, sink: tuple[Sink, int]
) -> None:
    base, archive, cfg = served
    page = browser_page
    page.goto(f"{base}/subscribe")
    _no_serious_violations(page)
    _tab_to(page, "#address")
    page.keyboard.type("zoë@example.org")
    _tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Check your inbox")
    _shots(page, "subscribe-sent")

    # the worker sends the queued e-mail (in a thread: Playwright's loop runs in this one)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(deliver_due, archive, cfg, "browser-test").result()
    (mail,) = sink[0].received
    assert mail["To"] == "zoë@example.org"
    page.goto(_local(link_in(mail, "/subscribe/confirm"), base))
    _no_serious_violations(page)
    _shots(page, "subscribe-confirm")
    _tab_to(page, "main button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=You are subscribed")
    assert [s.address for s in archive.signups("weekly")] == ["zoë@example.org"]

    _tab_to(page, "main a[href^='/subscribe/manage']")
    page.keyboard.press("Enter")
    page.wait_for_selector("h1:text('Your subscriptions')")
    _no_serious_violations(page)
    _shots(page, "subscribe-manage")
    _tab_to(page, "main button[type=submit]")
    page.keyboard.press("Space")
    page.wait_for_selector("text=You are unsubscribed")
    assert "zoë@example.org" in archive.unsubscribed()["weekly"]


def test_admin_login_and_retry_of_a_dead_delivery_with_the_keyboard(
    served: tuple[str, Archive, Config], browser_page: Page
) -> None:
    base, archive, _ = served
    at = datetime(2026, 11, 30, 8, tzinfo=UTC)
    archive.queue_period("weekly", ["staff@example.org"], at, at)
    (claimed,) = archive.claim_deliveries("test", 60)
    archive.finish_deliveries(
        [Finish(claimed.id, DeliveryState.DEAD, claimed.attempts, error="550 no such user")]
    )
    archive.sync_feeds([("cc", "https://example.org/feed", "Community Care")])
    page = browser_page
    page.goto(f"{base}/admin")  # a stranger is sent to the login
    page.wait_for_selector("h1:text('Admin login')")
    _no_serious_violations(page)
    _shots(page, "admin-login")
    _tab_to(page, "#password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("h1:text('Feeds')")
    _no_serious_violations(page)
    _shots(page, "admin-feeds")

    _tab_to(page, "nav.admin a[href='/admin/outbox']")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=550 no such user")
    _no_serious_violations(page)
    _shots(page, "admin-outbox")
    _tab_to(page, "main td button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"text=Delivery {claimed.id} goes again")
    (again,) = archive.deliveries()
    assert again.state is DeliveryState.PENDING
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["rb_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax" and session["secure"]


def test_chromium_is_debians() -> None:
    """The browser is the system's, never one Playwright downloaded."""
    assert shutil.which("chromium") == CHROMIUM or Path(CHROMIUM).exists()
