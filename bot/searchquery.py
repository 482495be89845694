"""Search syntax: what a person types in the search box, parsed into a `SearchQuery`.

Syntax (the same on SQLite and PostgreSQL):

- ``neglect funding``: items with both words (any form: "neglected" matches "neglect");
- ``"panel chair"``: the words side by side, in this order (a quoted phrase);
- ``adoption OR fostering``: either one (``OR`` or ``or``, between two terms; ``"or"`` in
  quotes is the word);
- ``-ofsted`` or ``-"social media"``: leave out items containing the word or phrase.

Case does not matter. Punctuation inside a word splits it into a phrase ("self-neglect" is
the phrase "self neglect"). Every word counts, "the" and "of" too. A query without a word
to look for (only exclusions, only operators or punctuation) finds nothing (the search page
shows the latest items instead). Nothing typed can fail: unbalanced
quotes close at the end, stray operators and search-engine syntax (``NEAR(``, ``*``, ``:``,
``^``) are plain text; the archive passes each term to the database as a bound value, never
as query syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_INPUT = 1000  # characters read from the box; the rest is ignored
MAX_TERMS = 24  # terms kept (positive and excluded): bounds the database query's size
MAX_TERM = 200  # characters of one term

_WORD = re.compile(r"[^\W_]+")  # letters and digits: what both databases index as words
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # NUL and friends: never stored, never sent
_BARE = re.compile(r'[^\s"]+')  # an unquoted term: up to a space or a quote


@dataclass(frozen=True)
class Term:
    """One word or quoted phrase as typed (whitespace collapsed). The database tokenises
    `text` itself, so a term is matched as its words side by side."""

    text: str
    phrase: bool = False  # typed in quotes

    @property
    def words(self) -> tuple[str, ...]:
        """Its words, lower case (for highlighting)."""
        return tuple(w.lower() for w in _WORD.findall(self.text))

    def render(self) -> str:
        return f'"{self.text}"' if self.phrase else self.text


@dataclass(frozen=True)
class SearchQuery:
    """Items must match every group (a group matches when any of its terms does) and none
    of the excluded terms."""

    groups: tuple[tuple[Term, ...], ...] = ()
    excluded: tuple[Term, ...] = ()

    @property
    def empty(self) -> bool:
        """True when there is nothing to look for: such a query finds nothing."""
        return not self.groups

    @property
    def words(self) -> tuple[str, ...]:
        """The words looked for (not the excluded ones), lower case, each once."""
        seen: dict[str, None] = {}
        for group in self.groups:
            for term in group:
                seen.update(dict.fromkeys(term.words))
        return tuple(seen)

    def render(self) -> str:
        """The query in its canonical typed form (parse(q.render()) == q)."""
        parts = [" OR ".join(t.render() for t in group) for group in self.groups]
        parts += [f"-{t.render()}" for t in self.excluded]
        return " ".join(parts)


@dataclass(frozen=True)
class _Token:
    term: Term | None  # None: the OR operator
    negated: bool = False


def parse(q: str) -> SearchQuery:
    """The query typed in `q`; never raises (see the module's syntax)."""
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    joining = False  # an OR stands between the last positive term and this token
    after_positive = False
    count = 0
    for token in _tokens(_CONTROL.sub(" ", q[:MAX_INPUT])):
        if token.term is None:
            joining = after_positive
            continue
        term = token.term
        if count >= MAX_TERMS:
            break
        if token.negated:
            joining = after_positive = False
            if term not in excluded:
                excluded.append(term)
                count += 1
            continue
        if joining and groups:
            if term not in groups[-1]:
                groups[-1].append(term)
                count += 1
        elif [term] not in groups:
            groups.append([term])
            count += 1
        joining, after_positive = False, True
    return SearchQuery(groups=tuple(tuple(g) for g in groups), excluded=tuple(excluded))


def _tokens(q: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos, n = 0, len(q)
    while pos < n:
        ch = q[pos]
        if ch.isspace():
            pos += 1
            continue
        negated = ch == "-" and pos + 1 < n and not q[pos + 1].isspace()
        if negated:
            pos += 1
        if q[pos] == '"':
            end = q.find('"', pos + 1)
            end = n if end < 0 else end
            raw, phrase, pos = q[pos + 1 : end], True, end + 1
        else:
            match = _BARE.match(q, pos)
            assert match is not None  # q[pos] is neither space nor a quote
            raw, phrase, pos = match.group(), False, match.end()
            if raw.upper() == "OR" and not negated:
                tokens.append(_Token(None))
                continue
        term = _term(raw, phrase=phrase)
        if term is not None:
            tokens.append(_Token(term, negated))
    return tokens


def _term(raw: str, *, phrase: bool) -> Term | None:
    """The term for `raw`, or None when it has no letter or digit to look for."""
    text = " ".join(raw.split())[:MAX_TERM].strip()
    if not _WORD.search(text):
        return None
    return Term(text=text, phrase=phrase)


# -- snippets ---------------------------------------------------------------------------

SNIPPET_CHARS = 240


@dataclass(frozen=True)
class Fragment:
    """A piece of a snippet: plain text (the page escapes it), highlighted when it is one of
    the words searched for."""

    text: str
    highlighted: bool = False


# Endings cut from a searched word so that its highlight also marks the word's other forms
# (the databases stem properly to find items; this only decides what to mark in the text).
_ENDINGS = (
    "ations",
    "ation",
    "ments",
    "ment",
    "ings",
    "ing",
    "ies",
    "ied",
    "ed",
    "es",
    "s",
    "ly",
    "y",
)


def highlighter(query: SearchQuery) -> re.Pattern[str] | None:
    """A pattern matching the words searched for and their forms, or None if none."""
    stems = sorted({_stem(w) for w in query.words}, key=len, reverse=True)
    if not stems:
        return None
    alternatives = "|".join(re.escape(s) + (r"[^\W_]*" if len(s) > 3 else "") for s in stems)
    return re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])", re.IGNORECASE)


def _stem(word: str) -> str:
    if len(word) > 4:
        for ending in _ENDINGS:
            if word.endswith(ending) and len(word) - len(ending) >= 4:
                return word[: -len(ending)]
    return word


def snippet(
    texts: tuple[str, ...], pattern: re.Pattern[str] | None, *, chars: int = SNIPPET_CHARS
) -> tuple[Fragment, ...]:
    """About `chars` characters around the first match of `pattern` in the first of `texts`
    that has one (else the start of the first non-empty text), cut at spaces, with the
    matches highlighted and "…" where the text goes on."""
    found = None
    for text in texts:
        match = pattern.search(text) if pattern is not None else None
        if match is not None:
            found = (text, match.start())
            break
    if found is None:
        text = next((t for t in texts if t.strip()), "")
        found = (text, 0)
    text, at = found
    start = max(0, at - chars // 3)
    if start > 0:
        space = text.find(" ", start, at)
        start = space + 1 if space >= 0 else start
    end = min(len(text), start + chars)
    if end < len(text):
        space = text.rfind(" ", max(at + 1, start), end)
        end = space if space > at else end
    window = " ".join(text[start:end].split())
    pieces: list[Fragment] = [Fragment("…")] if start > 0 else []
    pos = 0
    for match in pattern.finditer(window) if pattern is not None else ():
        if match.start() > pos:
            pieces.append(Fragment(window[pos : match.start()]))
        pieces.append(Fragment(match.group(), highlighted=True))
        pos = match.end()
    if pos < len(window):
        pieces.append(Fragment(window[pos:]))
    if end < len(text):
        pieces.append(Fragment("…"))
    return _merged(pieces)


def _merged(pieces: list[Fragment]) -> tuple[Fragment, ...]:
    out: list[Fragment] = []
    for piece in pieces:
        if out and out[-1].highlighted == piece.highlighted and not piece.highlighted:
            out[-1] = Fragment(out[-1].text + piece.text)
        else:
            out.append(piece)
    return tuple(out)
