"""Remote images that exist to tell a third party that someone read the page.

A tracking pixel is an image of one or two pixels, or one whose URL reads like a beacon: a
host or path segment named for tracking (pixel.wp.com, /track/open.php, /wf/open, /beacon/),
a 1x1 or spacer image, or a GIF whose query carries the reader's identity (/p.gif?u=42).
The rules are whole names, not substrings, so an article's /open-letter.jpg or
race-track.jpg stays; a real image on a host called "pixel" would go, which costs a picture,
not a reader's privacy. Pure: no I/O.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from bot.urls import safe_url

# A host's first label with one of these names (pixel.wp.com, tracking.mailer.example)...
_BEACON_HOSTS = frozenset(
    ["pixel", "pixels", "beacon", "beacons", "track", "tracking", "tracker", "trk"]
)
# ...a whole path segment (extension dropped): /track/open.php, /wf/open, /tr (Facebook)...
_BEACON_NAMES = _BEACON_HOSTS | {"open", "tr", "1x1", "spacer"}
# ...or a last segment made of words one of which says it (tracking-pixel.gif, spacer_1x1.gif)
_BEACON_WORDS = frozenset(["pixel", "beacon", "tracking", "tracker", "1x1", "spacer"])
_WORDS = re.compile(r"[._-]")
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?)\s*(?:px)?\s*$", re.IGNORECASE)
MAX_TRACKER_PX = 2


def looks_like_beacon(url: str) -> bool:
    """True when an image URL reads like a tracking pixel's."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    path = parts.path.lower()
    if path.endswith(".gif") and parts.query:
        return True  # a GIF whose only content is who asked for it
    first_label = (parts.hostname or "").split(".", 1)[0]
    segments = [s.rsplit(".", 1)[0] if "." in s else s for s in path.split("/") if s]
    if first_label in _BEACON_HOSTS or _BEACON_NAMES.intersection(segments):
        return True
    return bool(segments) and bool(_BEACON_WORDS.intersection(_WORDS.split(segments[-1])))


def is_tracking_image(src: str, width: str = "", height: str = "") -> bool:
    """An <img> to drop: no source left after sanitising, 1-2 px in either dimension, or a
    beacon URL. `width` and `height` are the attribute values ("1", "1px", "")."""
    if not src.strip():
        return True
    for size in (width, height):
        m = _SIZE.match(size)
        if m and float(m.group(1)) <= MAX_TRACKER_PX:
            return True
    return looks_like_beacon(src)


def image_url(url: str, *, base: str | None = None) -> str:
    """An item's picture (enclosure, media:content): an http(s) URL that is no beacon, or ""."""
    url = safe_url(url, base=base)
    return "" if not url or looks_like_beacon(url) else url
