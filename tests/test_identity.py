"""Which entries are the same item."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.identity import content_hash, item_key, normalise_url

WHEN = datetime(2025, 4, 3, 7, 6, 37, tzinfo=UTC)


def test_http_and_https_guid_are_the_same_item() -> None:
    a = item_key("http://www.communitycare.co.uk/?p=216724", "", "", None, "")
    b = item_key("https://WWW.CommunityCare.co.uk/?p=216724", "", "", None, "")
    assert a == b == "guid:www.communitycare.co.uk/?p=216724"


def test_path_case_still_matters() -> None:
    assert normalise_url("https://x.org/A") != normalise_url("https://x.org/a")


def test_default_port_dropped_other_port_kept() -> None:
    assert normalise_url("https://x.org:443/a") == "x.org/a"
    assert normalise_url("https://x.org:8443/a") == "x.org:8443/a"


def test_non_url_guid_kept_verbatim() -> None:
    assert (
        item_key(" tag:x.org,2024:1 ", "https://x.org/1", "", None, "") == "guid:tag:x.org,2024:1"
    )


def test_missing_guid_falls_back_to_link() -> None:
    assert item_key("", "http://x.org/a", "t", WHEN, "c") == "link:x.org/a"


def test_missing_guid_and_link_falls_back_to_content_hash() -> None:
    key = item_key("", "", "Title", WHEN, "Body")
    assert key.startswith("hash:")
    assert key == item_key("", "", "Title", WHEN, "Body")
    assert key != item_key("", "", "Title", WHEN, "Other body")


def test_content_hash_separates_fields() -> None:
    assert content_hash("ab", "c", "") != content_hash("a", "bc", "")
