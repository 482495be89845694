"""reportbot: watches report feeds, archives every item once, extracts facts, sends digests."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("reportbot")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
