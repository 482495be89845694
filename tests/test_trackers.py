"""Which images are tracking pixels: by size and by URL, whole names not substrings."""

from __future__ import annotations

import pytest

from bot.trackers import image_url, is_tracking_image, looks_like_beacon


@pytest.mark.parametrize(
    "url",
    [
        "https://tracker.example/p.gif?u=42",
        "https://pixel.wp.com/g.gif",
        "https://us1.list-manage.com/track/open.php?u=1",
        "https://u1.sendgrid.net/wf/open?upn=x",
        "https://www.facebook.com/tr?id=1&ev=PageView",
        "https://news.example/img/1x1.png",
        "https://news.example/img/tracking-pixel.png",
        "https://news.example/spacer_1x1.gif",
        "https://beacon.news.example/b.png",
    ],
)
def test_beacon_urls(url: str) -> None:
    assert looks_like_beacon(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://www.communitycare.co.uk/files/2024/08/open-letter.jpg",
        "https://news.example/race-track.jpg",
        "https://www.open.ac.uk/images/campus.jpg",
        "https://news.example/animated.gif",
        "https://i0.wp.com/news.example/photo.jpg?resize=600%2C400",
    ],
)
def test_ordinary_image_urls(url: str) -> None:
    assert not looks_like_beacon(url)


@pytest.mark.parametrize(
    ("width", "height", "tracking"),
    [
        ("1", "1", True),
        ("600", "2px", True),
        ("0", "", True),
        ("600", "400", False),
        ("", "", False),
        ("1.0", "1.0", True),
        ("600.5", "2.", True),
        ("2.5", "300", False),
    ],
)
def test_tiny_images_are_trackers(width: str, height: str, tracking: bool) -> None:
    assert is_tracking_image("https://news.example/a.jpg", width, height) is tracking


def test_an_image_without_a_source_goes() -> None:
    assert is_tracking_image("", "600", "400")


@pytest.mark.parametrize(
    ("url", "base", "want"),
    [
        ("/photo.jpg", "https://news.example/feed", "https://news.example/photo.jpg"),
        ("javascript:alert(1)", None, ""),
        ("https://pixel.wp.com/g.gif", None, ""),
    ],
)
def test_item_image_url(url: str, base: str | None, want: str) -> None:
    assert image_url(url, base=base) == want
