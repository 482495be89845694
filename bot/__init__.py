"""reportbot: watches report feeds, archives every item once, extracts facts, sends digests."""

# The package's version (pyproject.toml reads it from here); a constant, so that knowing it
# costs no start-up time (importlib.metadata would, on every command).
__version__ = "0.1.0"
