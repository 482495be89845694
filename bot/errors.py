"""One exception tree for everything reportbot reports to an operator.

    ReportbotError                  anything the operator should read; one line, says what to check
    ├── ConfigError                 the configuration or a command-line argument is wrong
    ├── InputError                  a document could not be read as a feed or dump
    │   └── ParseError              ... it was read but is not a feed, or is malformed
    ├── ArchiveError                the database could not be opened, migrated or written
    ├── QueryError                  a search or page request is not valid (a forged cursor)
    ├── WebError                    the web site could not be served (its port, its key)
    └── MarkupTooDeep               an item's HTML nests too deep to sanitise; its text is kept

Foreign exceptions are wrapped with ``raise ... from exc`` so the cause stays in the traceback
for debugging while the operator sees only the message.
"""

from __future__ import annotations


class ReportbotError(Exception):
    """Base class: the message is a complete sentence for the operator."""


class ConfigError(ReportbotError):
    """Configuration or arguments are invalid."""


class InputError(ReportbotError):
    """A file or document could not be read."""

    def __init__(self, source: str, message: str, line: int | None = None) -> None:
        self.source = source
        self.line = line
        self.detail = message
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple[type[InputError], tuple[str, str, int | None]]:
        # crosses process boundaries (the parse sandbox), so it must unpickle
        return (type(self), (self.source, self.detail, self.line))


class ParseError(InputError):
    """A document was read but is not a feed, or is malformed."""


class ArchiveError(ReportbotError):
    """The archive database failed."""


class QueryError(ReportbotError):
    """A request to the archive's search or listings is not valid (e.g. a cursor not made by
    the archive): the web answers 400 with the message."""


class WebError(ReportbotError):
    """The web site could not be served."""


class MarkupTooDeep(ReportbotError):
    """HTML nested deeper than the sanitiser may see; the caller keeps only its text."""
