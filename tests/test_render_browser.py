"""The HTML e-mail as a person sees it: headless Chromium at 375 px and 1024 px."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM_FLAGS, DATA

pytestmark = pytest.mark.slow  # long end to end: `make test` runs it, `make check` not

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
GOLDEN_HTML = DATA / "golden" / "weekly.html"

# The digest goes into a same-origin srcdoc iframe of the wanted width (headless Chromium will
# not make its window narrower than 500 px); a script then records its layout.
PROBE = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" style="border:0;width:{width}px;height:2000px" srcdoc="{doc}"></iframe>
<script>
const f = document.getElementById("f");
function measure() {{
  const d = f.contentDocument;
  if (!d || !d.body || !d.body.innerText) {{ setTimeout(measure, 50); return; }}
  const e = d.documentElement;
  document.body.setAttribute("data-metrics",
    e.scrollWidth + "x" + e.clientWidth + "x" + d.body.innerText.trim().length);
}}
f.onload = measure;
</script></body></html>"""


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (.ci/run installs it)")
@pytest.mark.parametrize("width", [375, 1024])
def test_email_renders_without_horizontal_scroll(width: int, tmp_path: Path) -> None:
    probe = tmp_path / "probe.html"
    doc = GOLDEN_HTML.read_text(encoding="utf-8")
    probe.write_text(PROBE.format(width=width, doc=html.escape(doc, quote=True)), encoding="utf-8")
    result = subprocess.run(
        [
            CHROMIUM or "chromium",
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1200,900",
            "--virtual-time-budget=5000",
            "--dump-dom",
            probe.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    m = re.search(r'data-metrics="(\d+)x(\d+)x(\d+)"', result.stdout)
    assert m, f"no layout measured; chromium said: {result.stderr[-500:]}"
    scroll_width, client_width, text_length = map(int, m.groups())
    assert text_length > 2000  # not blank: the ten items' text is laid out
    assert scroll_width <= client_width  # no horizontal scroll
