"""Article text → blocks (paragraphs, headings, list items) → sentences, with boilerplate marked.

Offsets are into the article's plain text, so every fact can be cut out of it exactly.
Boilerplate is found two ways: rules for the site furniture we know (promo boxes, polls,
adverts for the Inform hub, image captions and credits, file names, a name repeated as a
caption), and paragraphs that recur, exactly or nearly, in other items of the same feed, so a
promo with new wording is caught once it has run twice.

Hand-written: sentence splitters we could use (nltk punkt, spaCy, pysbd) need model downloads
or are slower than this whole module, and none knows the dump's layout.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.htmltext import html_to_text

_LIST_ITEM = re.compile(r" {2}(?:•|\d+\.) ")  # used with .match(): anchored at pos
_TERMINAL = re.compile(r"[.!?:;…][”\"’)]*$")  # a heading has no end punctuation
_CAPTION = re.compile(
    r"\((?:photo|picture|image|credit)\b|\b(?:photo|picture|image)\s*(?::|by\b)|"
    r"^photo\b|adobe ?stock|\(credit:|posed by model|^posed photo",
    re.IGNORECASE,
)
_FILENAME = re.compile(r"\S+\.(?:jpe?g|png|gif|webp|svg)$", re.IGNORECASE)  # .match(t, s, e)
_PROMO = re.compile(
    r"note: there is a poll embedded|community care inform|knowledge and practice hub|"
    r"\binform (?:children|adults) (?:subscribers|users)\b|my brilliant colleague|"
    r"\bnominat(?:e|ion)|community journalist|^\*please note|celebrate those who|"
    r"\bsubscribe\b|sign up for|newsletter|\bwebinar\b|book your (?:place|ticket)|"
    r"the hub is available",
    re.IGNORECASE,
)
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st no nos vs etc e.g i.e cllr rev sr jr co ltd inc gov dept approx "
    "fig figs para paras sec art vol jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
_SENTENCE_END = re.compile(r"[.!?…]+[”\"’)]*(?=\s|$)")
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class Block:
    kind: str  # paragraph | heading | list_item
    start: int
    end: int
    boilerplate: bool


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    block: int  # index into Article.blocks


@dataclass(frozen=True)
class Article:
    text: str
    blocks: tuple[Block, ...]
    sentences: tuple[Sentence, ...]

    def span(self, start: int, end: int) -> str:
        return self.text[start:end]


def plain_text(text: str) -> str:
    """The article as plain text: HTML (detected by its tags) is converted, text kept."""
    if re.search(r"<(?:p|div|br|li|ul|ol|h[1-6]|span|a|strong|em)\b[^>]*>", text, re.IGNORECASE):
        return html_to_text(text)
    return text


def analyse(text: str, recurring: RecurringIndex | None = None) -> Article:
    """Blocks and sentences of one article; `recurring` indexes the feed's items (this one may
    be among them) so that paragraphs repeated across items are marked as boilerplate."""
    original = text
    text = plain_text(text)
    raw = _raw_blocks(text)
    kinds = [_kind(text, s, e) for s, e in raw]
    # one pass of the promo rules over the whole text, then mapped to blocks
    hits = sorted({m.start() for m in _PROMO.finditer(text)})
    promo = [
        _has_hit(hits, s, e)
        or bool(_FILENAME.match(text, s, e))
        or (recurring is not None and recurring.recurs(text[s:e], original))
        for s, e in raw
    ]
    captions = _captions(text, raw, kinds)
    _extend_promo_sections(kinds, promo, captions)
    flags = [p or c for p, c in zip(promo, captions, strict=True)]
    blocks = tuple(
        Block(kind=k, start=s, end=e, boilerplate=b)
        for (s, e), k, b in zip(raw, kinds, flags, strict=True)
    )
    sentences: list[Sentence] = []
    for index, block in enumerate(blocks):
        spans = split_sentences(text, block.start, block.end)
        sentences += [Sentence(s, e, index) for s, e in spans]
    return Article(text=text, blocks=blocks, sentences=tuple(sentences))


def _raw_blocks(text: str) -> list[tuple[int, int]]:
    """Blank-line separated blocks; list items and promo note lines become blocks of their own."""
    spans: list[tuple[int, int]] = []
    for m in re.finditer(r"[^\n]+(?:\n(?!\s*\n)[^\n]*)*", text):
        start = m.start()
        lines = m.group().split("\n")
        pos = start
        current_start = start
        for i, line in enumerate(lines):
            line_end = pos + len(line)
            new_unit = i > 0 and (_LIST_ITEM.match(line) or _PROMO.search(lines[i - 1]))
            if new_unit:
                spans.append((current_start, pos - 1))
                current_start = pos
            pos = line_end + 1
        spans.append((current_start, m.end()))
    return [(s, e) for s, e in (_trim(text, s, e) for s, e in spans) if e > s]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in " \t\n":
        start += 1
    while end > start and text[end - 1] in " \t\n":
        end -= 1
    return start, end


def _kind(text: str, start: int, end: int) -> str:
    # the two-space indent of a list line was trimmed off the block: look just before it
    if _LIST_ITEM.match(text, max(0, start - 2)) or text.startswith("• ", start):
        return "list_item"
    stripped = text[start:end].rstrip(" \u00a0")
    words = stripped.split()
    if "\n" not in stripped and len(words) <= 16 and not _TERMINAL.search(stripped):
        return "heading"
    return "paragraph"


def _has_hit(hits: list[int], start: int, end: int) -> bool:
    k = bisect.bisect_left(hits, start)
    return k < len(hits) and hits[k] < end


def _captions(text: str, raw: list[tuple[int, int]], kinds: list[str]) -> list[bool]:
    """Image captions and credits, the alt text or name line just above one, and a name
    repeated as a caption (two identical short lines)."""
    flags = [False] * len(raw)
    for i, (s, e) in enumerate(raw):
        if kinds[i] != "heading":
            continue
        block = text[s:e]
        is_caption = bool(_CAPTION.search(block))
        repeated = i + 1 < len(raw) and text[raw[i + 1][0] : raw[i + 1][1]] == block
        if is_caption or repeated:
            flags[i] = True
            if repeated:
                flags[i + 1] = True
            if i > 0 and kinds[i - 1] == "heading" and is_caption and not flags[i - 1]:
                flags[i - 1] = _looks_like_alt_text(text[raw[i - 1][0] : raw[i - 1][1]], block)
    return flags


def _looks_like_alt_text(line: str, caption: str) -> bool:
    """The line above a credit is alt text when it shares a word with it or describes a photo;
    otherwise it is a real sub-heading that happens to precede an image."""
    words = {w for w in _WORD.findall(line.lower()) if len(w) > 3}
    shared = words & set(_WORD.findall(caption.lower()))
    describes = re.search(r"\b(?:looking|standing|sitting|photo|image)\b", line, re.IGNORECASE)
    return bool(shared) or bool(describes)


def _extend_promo_sections(kinds: list[str], promo: list[bool], captions: list[bool]) -> None:
    """A promo heading, or a heading whose first real paragraph is promo, starts a promo box:
    all of it, up to the next heading, is boilerplate (its other paragraphs need match no rule)."""
    n = len(kinds)
    for i in range(n):
        if kinds[i] != "heading" or captions[i]:
            continue
        j = i + 1
        while j < n and captions[j]:
            j += 1
        if not (promo[i] or (j < n and promo[j] and kinds[j] != "heading")):
            continue
        promo[i] = True
        k = i + 1
        while k < n and (kinds[k] != "heading" or captions[k] or promo[k]):
            promo[k] = True
            k += 1


class RecurringIndex:
    """Paragraphs of a feed's items, for "does this paragraph recur elsewhere?" look-ups.

    Build it once per feed and pass it to every `analyse` call. A paragraph is boilerplate when
    it recurs, exactly or nearly (70% of its word trigrams), in at least two OTHER items: once
    is not enough, because follow-up stories on this site reuse whole paragraphs of real news.
    """

    MIN_OTHERS = 2
    NEAR = 0.7

    def __init__(self, texts: Iterable[str] = ()) -> None:
        self._exact: dict[str, set[int]] = {}
        self._by_shingle: dict[str, set[int]] = {}
        self._docs: dict[int, int] = {}  # hash of a whole text -> doc id
        for doc, text in enumerate(texts):
            self._docs.setdefault(hash(text), doc)
            for para in re.split(r"\n\s*\n", text):
                norm = _normalise(para)
                if len(norm) < 25:
                    continue
                self._exact.setdefault(norm, set()).add(doc)
                for shingle in _shingles(norm):
                    self._by_shingle.setdefault(shingle, set()).add(doc)

    def recurs(self, block: str, own_text: str) -> bool:
        if not self._docs:
            return False
        norm = _normalise(block)
        if len(norm) < 25:
            return False
        own = self._docs.get(hash(own_text), -1)
        exact = self._exact.get(norm, set()) - {own}
        if len(exact) >= self.MIN_OTHERS:
            return True
        mine = _shingles(norm)
        shared: dict[int, int] = {}
        for shingle in mine:
            for doc in self._by_shingle.get(shingle, ()):
                if doc != own:
                    shared[doc] = shared.get(doc, 0) + 1
        near = sum(1 for n in shared.values() if n / len(mine) >= self.NEAR)
        return near >= self.MIN_OTHERS


def _normalise(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _shingles(norm: str) -> frozenset[str]:
    words = norm.split()
    return frozenset(" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2)))


def split_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans within text[start:end]."""
    out: list[tuple[int, int]] = []
    pos = start
    for m in _SENTENCE_END.finditer(text, start, end):
        stop = m.end()
        if _is_false_stop(text, pos, m.start(), stop, end):
            continue
        s, e = _trim(text, pos, stop)
        if e > s:
            out.append((s, e))
        pos = stop
    s, e = _trim(text, pos, end)
    if e > s:
        out.append((s, e))
    return out


def _is_false_stop(text: str, sent_start: int, mark: int, stop: int, end: int) -> bool:
    if text[sent_start:mark].isdigit():
        return True  # a list enumerator, "1."
    if text[mark : mark + 1] == "." and stop == mark + 1:
        word = re.search(r"([A-Za-z.]+)$", text[sent_start:mark])
        if word:
            token = word.group(1).lower().rstrip(".")
            if token in _ABBREVIATIONS or re.fullmatch(r"[a-z]", token):
                return True  # "Dr.", "No.", an initial such as "J."
    nxt = text[stop:end].lstrip()
    if not nxt:
        return False
    # A sentence starts with a capital, a digit, an opening quote or a bullet.
    return not (nxt[0].isupper() or nxt[0].isdigit() or nxt[0] in "“\"‘'•(£$€")
