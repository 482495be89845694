"""The site in a real browser: Debian's Chromium driven by Playwright (never a downloaded
browser) over `reportbot web` on 127.0.0.1, with an archive imported from the dump plus the
hostile items. Hostile pages run nothing (no dialog, no console error: a blocked script
would log a Content-Security-Policy error), pages fit 375 px and 1280 px (screenshots in
state/screenshots/), axe-core finds no serious or critical violation, and the search form
works from the keyboard alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from bot.archive import Archive
from bot.pipeline import import_files
from tests.conftest import CHROMIUM_FLAGS, DUMP, ROOT
from tests.smtpsink import free_port
from tests.webapp.conftest import SECRET, add_hostile

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "state" / "screenshots"
WIDTHS = (375, 1280)

if TYPE_CHECKING := False:
    from playwright.sync_api import Browser, Page


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`reportbot web` serving the dump's articles and the hostile items: its base URL."""
    folder = tmp_path_factory.mktemp("site")
    url = f"sqlite:///{folder / 'archive.db'}"
    archive = Archive(url)
    archive.upgrade()
    import_files(archive, [DUMP])
    add_hostile(archive)
    archive.close()
    port = free_port()
    config = folder / "reportbot.toml"
    config.write_text(
        f'[archive]\nurl = "{url}"\n[web]\npublic_url = "https://bot.example.org"\n'
        f'listen = "127.0.0.1:{port}"\n'
    )
    env = {**os.environ, "REPORTBOT_WEB_SECRET": SECRET}
    server = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "web"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, server)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"reportbot web exited: {server.stderr.read().decode()}")  # type: ignore[union-attr]
        try:
            with urllib.request.urlopen(base + "/", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("reportbot web did not answer within 30 s")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is required in CI (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_FLAGS))
        yield launched
        launched.close()


class Watched:
    """A page with every dialog and console error it raises recorded."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on(
            "console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None
        )
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _dialog(self, dialog: object) -> None:
        self.dialogs.append(dialog.message)  # type: ignore[attr-defined]
        dialog.dismiss()  # type: ignore[attr-defined]


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield Watched(context.new_page())
    context.close()


def _hostile_paths(site: str, page: Page) -> list[str]:
    page.goto(f"{site}/search?q=alert")
    found = page.eval_on_selector_all("a.title", "els => els.map(e => e.getAttribute('href'))")
    assert len(found) >= 2
    page.goto(f"{site}/speakers")
    speakers = page.eval_on_selector_all("td a", "els => els.map(e => e.getAttribute('href'))")
    return ["/", *found, "/search?q=alert", "/search?q=script&figures=1", "/speakers", *speakers]


def test_hostile_feed_runs_nothing_in_the_browser(site: str, watched: Watched) -> None:
    paths = _hostile_paths(site, watched.page)
    for path in paths:
        watched.page.goto(site + path)
        watched.page.wait_for_load_state("load")
        for link in watched.page.eval_on_selector_all("a", "els => els.map(e => e.href)"):
            assert link.startswith(("http://", "https://")), (path, link)
    assert watched.dialogs == []
    assert watched.errors == []


def test_hostile_title_is_shown_as_text(site: str, watched: Watched) -> None:
    watched.page.goto(f"{site}/search?q=councils")
    watched.page.click("a.title >> text=45% of councils")
    heading = watched.page.inner_text("h1")
    assert heading.startswith('<script>alert("title")</script>')
    assert watched.dialogs == [] and watched.errors == []


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["browse", "search", "item"])
def test_pages_fit_the_screen(site: str, browser: Browser, name: str, width: int) -> None:
    path = {"browse": "/", "search": "/search?q=panel", "item": "/item/1"}[name]
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    watched = Watched(page)
    page.goto(site + path)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"web-{name}-{width}.png"), full_page=False)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    context.close()
    assert overflow <= 0, f"{name} is {overflow}px wider than {width}px"
    assert watched.errors == []


@pytest.mark.parametrize("path", ["/", "/search?q=panel", "/item/1", "/speakers"])
def test_axe_finds_no_serious_violation(site: str, watched: Watched, path: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    watched.page.goto(site + path)
    results = Axe().run(watched.page)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == []


def _tab_to(page: Page, name: str, limit: int = 20) -> list[str]:
    """Press Tab until the element named `name` (or with that text) has focus: the names
    passed on the way, each once (a date field's day, month and year are one stop each)."""
    passed: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = page.evaluate("document.activeElement.name || document.activeElement.textContent")
        if not passed or passed[-1] != now:
            passed.append(now)
        if now == name:
            return passed
    raise AssertionError(f"Tab never reached {name!r}: {passed}")


def test_search_form_works_from_the_keyboard_alone(site: str, watched: Watched) -> None:
    page = watched.page
    page.goto(f"{site}/search")
    assert _tab_to(page, "q") == [
        "Skip to content",
        "reportbot",
        "Latest",
        "Search",
        "Speakers",
        "q",
    ]
    page.keyboard.type("panel")
    assert _tab_to(page, "figures") == ["feed", "since", "until", "speaker", "figures"]
    page.keyboard.press("Space")
    assert _tab_to(page, "Search") == ["Search"]
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=panel*")
    assert "figures=1" in page.url
    assert page.locator("a.title").count() > 0
    assert page.locator("mark").count() > 0
    assert watched.errors == []


def test_skip_link_moves_focus_to_the_content(site: str, watched: Watched) -> None:
    page = watched.page
    page.goto(f"{site}/item/1")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
