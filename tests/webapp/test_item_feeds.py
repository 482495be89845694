"""An item carried by several feeds (one story: bot.identity) names every one of them on its
page."""

from __future__ import annotations

from starlette.testclient import TestClient

from bot.archive import Archive
from bot.config import Config
from bot.pipeline import import_files
from bot.webapp import create_app
from tests.conftest import DUMP


def test_item_page_names_every_feed_carrying_the_item(archive: Archive) -> None:
    import_files(archive, [DUMP])
    import_files(archive, [DUMP], feed_key="mirror")
    first = archive.items(feed_key="mirror", limit=1)[0]
    detail = archive.item_page(first.id)
    assert detail is not None
    assert sorted(f.key for f in detail.feeds) == sorted(f.key for f in archive.feeds())
    assert detail.stored.id == first.id
    with TestClient(create_app(Config(), archive.url)) as client:
        page = client.get(f"/item/{first.id}").text
    assert page.count("Child Safeguarding Practice Review Panel Archives") >= 2


def test_items_without_guid_are_one_story_only_by_their_link(archive: Archive) -> None:
    from dataclasses import replace

    from bot.dump import parse_dump

    parsed = parse_dump(DUMP.read_text(encoding="utf-8"), str(DUMP))
    bare = tuple(replace(i, guid="", key=f"link:{i.link}") for i in parsed.items[:3])
    archive.add([(replace(parsed, items=bare), "a"), (replace(parsed, items=bare[:1]), "b")])
    ids = [s.id for s in archive.items(feed_key="a")]
    carriers = []
    for item_id in ids:
        detail = archive.item_page(item_id)
        assert detail is not None
        carriers.append(sorted(f.key for f in detail.feeds))
    # feed b carried the first article (same link): one story in both; the others only in a
    assert sorted(carriers) == [["a"], ["a"], ["a", "b"]]
