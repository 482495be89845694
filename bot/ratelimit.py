"""Rate limits of the web site (login, subscribe): what a limit is and when it is hit.
The hits themselves are rows in the archive (several web processes share them)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """At most `hits` within `window` seconds for one bucket of `kind`."""

    kind: str
    hits: int
    window: float


def bucket(limit: Limit, value: str) -> str:
    """Where hits of `value` (an IP, an address key, an account) count: a hash, so the
    archive's table holds no address in the clear."""
    return hashlib.sha256(f"{limit.kind}\n{value}".encode()).hexdigest()


def over(limit: Limit, count: int) -> bool:
    """Whether `count` hits within the window are more than the limit allows."""
    return count > limit.hits
