"""How long a feed whose item nests <div> elements N levels deep takes to parse.

    .venv/bin/python bench/deep_html.py [--depths 1000,10000,100000] [--nh3-up-to 10000]

Prints, per depth: parse_feed of a one-item RSS document (the deep HTML is refused before
the sanitiser and the item kept as text), the depth check alone, and what nh3 alone takes
on the same HTML (what every poll of such a feed cost before the check; skipped above
--nh3-up-to, since it grows with the square of the depth: 100,000 levels took 17 s in
issue 15's report and 13 minutes on the busy shared test machine).
"""

from __future__ import annotations

import argparse
import time

import nh3

from bot.htmltext import too_deep
from bot.parse import parse_feed


def _feed(html: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Deep</title>'
        "<link>https://deep.example/</link><description>d</description><item><title>Deep"
        f"</title><link>https://deep.example/1</link><content:encoded><![CDATA[{html}]]>"
        "</content:encoded></item></channel></rss>"
    ).encode()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:9.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--depths", default="1000,10000,100000")
    ap.add_argument("--nh3-up-to", type=int, default=10_000)
    args = ap.parse_args()
    print(f"{'depth':>8}  {'parse_feed':>12}  {'too_deep':>12}  {'nh3 alone':>12}")
    for depth in (int(d) for d in args.depths.split(",")):
        html = "<p>Intro.</p>" + "<div>" * depth + "x" + "</div>" * depth
        data = _feed(html)
        began = time.perf_counter()
        parsed = parse_feed(data, "https://deep.example/feed")
        parse_s = time.perf_counter() - began
        assert parsed.items[0].html is None, "the deep HTML reached the sanitiser"
        began = time.perf_counter()
        too_deep(html)
        check_s = time.perf_counter() - began
        nh3_col = "skipped"
        if depth <= args.nh3_up_to:
            began = time.perf_counter()
            nh3.clean(html)
            nh3_col = _ms(time.perf_counter() - began)
        print(f"{depth:>8}  {_ms(parse_s):>12}  {_ms(check_s):>12}  {nh3_col:>12}")


if __name__ == "__main__":
    main()
