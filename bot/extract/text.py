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
from typing import NamedTuple

from bot.htmltext import html_to_text

_LIST_ITEM = re.compile(r" {2}(?:•|\d+\.) ")  # used with .match(): anchored at pos
_TERMINAL = re.compile(r"[.!?:;…][”\"’)]*$")  # a heading has no end punctuation
_CAPTION = re.compile(
    r"\((?:photo|picture|image|credit)\b|\b(?:photo|picture|image)\s*(?::|by\b)|"
    r"^photo\b|adobe ?stock|\(credit:|posed by model|^posed photo",
    re.IGNORECASE,
)
_FILENAME = re.compile(r"\S+\.(?:jpe?g|png|gif|webp|svg)$", re.IGNORECASE)  # .match(t, s, e)
# Site furniture, as lower-case phrases: plain substring tests are far faster than a regex.
_PROMO_PHRASES = (
    "note: there is a poll embedded",
    "community care inform",
    "knowledge and practice hub",
    "inform children subscribers",
    "inform adults subscribers",
    "inform children users",
    "my brilliant colleague",
    "nominate ",
    "nomination",
    "community journalist",
    "*please note",
    "celebrate those who",
    "subscribe",
    "sign up for",
    "newsletter",
    "webinar",
    "book your place",
    "book your ticket",
    "the hub is available",
    "donate £",
    "give £",
    "was this page useful",
    "was this page helpful",
    "did you find this page useful",
)
# Page furniture that opens a line: related-reading boxes, bylines, datelines, share prompts,
# picture credits, press-office and contact lines. Tested with str.startswith on the
# lower-cased block (a tuple: one C call).
_FURNITURE_STARTS = (
    "related reading",
    "related:",
    "related content",
    "related stories",
    "related articles",
    "read more",
    "see also",
    "also read",
    "share this",
    "share on",
    "have your say",
    "what do you think",
    "let us know",
    "picture:",
    "pictured:",
    "photo:",
    "image:",
    "credit:",
    "caption:",
    "main image",
    "embargoed",
    "under embargo",
    "media contact",
    "media enquiries",
    "media:",
    "press office",
    "press contact",
    "press enquiries",
    "for interviews",
    "for more information",
    "for further information",
    "telephone ",
    "tel:",
    "email ",
    "email:",
    "e-mail",
    "from:",
    "published:",
    "last updated",
    "updated:",
    "join the",
    "find out more",
    "follow us",
    "advertisement",
    "home >",
    "¹",
    "²",
    "³",
    "[1]",
    "[2]",
    "[3]",
    "[4]",
)
# A line after which the rest of a press release is furniture ("Notes to editors" blocks
# state facts, but they are background for journalists, not the release's findings).
_FURNITURE_TAIL = frozenset(
    "ends|-ends-|- ends -|notes to editors|notes for editors|editor's notes|editor’s notes|"
    "note to editors|about us".split("|")
)
_BYLINE = re.compile(r"(?:By|Published|Posted|Updated)\s+[A-Z0-9]")
_CALL_TO_ACTION = re.compile(r"\b(?:call|ring|phone|text|visit|contact|helpline)\b", re.IGNORECASE)
_PHONE_LIKE = re.compile(r"0\d{2,4}[ \d]{6,10}\d\b")  # led by "0", so the scan skips ahead


_PARAGRAPH = re.compile(r"[^\n]+(?:\n(?!\s*\n)[^\n]*)*")
_BLANK_LINE = re.compile(r"\n\s*\n")


def _promo_positions(low: str) -> list[int]:
    """Where promo phrases start: one C-speed substring search per phrase over the
    lower-cased text."""
    found: list[int] = []
    for phrase in _PROMO_PHRASES:
        at = low.find(phrase)
        while at != -1:
            found.append(at)
            at = low.find(phrase, at + 1)
    return found


def _any_between(sorted_positions: list[int], start: int, end: int) -> bool:
    k = bisect.bisect_left(sorted_positions, start)
    return k < len(sorted_positions) and sorted_positions[k] < end


def _is_promo(block: str) -> bool:
    low = block.lower()
    return any(phrase in low for phrase in _PROMO_PHRASES)


def _furniture(text: str, raw: list[tuple[int, int]]) -> list[bool]:
    """Page furniture by its opening words, short bylines and datelines, a short line that
    asks the reader to call a number, and everything after "Ends" or "Notes to editors"."""
    flags = [False] * len(raw)
    for i, (s, e) in enumerate(raw):
        block = text[s:e]
        low = block[:40].lower().lstrip(" •")
        if low.rstrip(" :.") in _FURNITURE_TAIL:
            for k in range(i, len(raw)):
                flags[k] = True
            break
        short = e - s < 220
        flags[i] = (
            low.startswith(_FURNITURE_STARTS)
            or (" > " in block[:80] and short and not block.rstrip().endswith("."))
            or (e - s < 90 and bool(_BYLINE.match(block)) and not block.endswith("."))
            or (short and bool(_PHONE_LIKE.search(block)) and bool(_CALL_TO_ACTION.search(block)))
        )
    return flags


_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st no nos vs etc e.g i.e cllr rev sr jr co ltd inc gov dept approx "
    "fig figs para paras sec art vol jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
# a full stop, its closing marks, and a footnote mark after it ("a third.² One", "37%.[2] Six")
_SENTENCE_END = re.compile(r"[.!?…]+[”\"’)]*(?:[¹²³⁴⁵⁶⁷⁸⁹⁰]+|\[\d{1,2}\])?(?=\s|$)")
_WORD = re.compile(r"[a-z]+")
_PUNCTUATION = ".,;:!?()[]{}“”‘’\"'*•–—-…"
_HTML_TAG = re.compile(r"<(?:p|div|br|li|ul|ol|h[1-6]|span|a|strong|em)\b[^>]*>", re.IGNORECASE)


def alternation(words: Iterable[str]) -> str:
    """A regex alternation of literal words, factored by first letter: Python's engine scans
    "t(?:wo|hree)|f(?:our|ive)" about three times faster than "two|three|four|five"."""
    groups: dict[str, list[str]] = {}
    for word in sorted(set(words), key=len, reverse=True):
        groups.setdefault(word[0], []).append(re.escape(word[1:]))
    return "|".join(
        f"{re.escape(first)}(?:{'|'.join(rests)})" for first, rests in sorted(groups.items())
    )


class Block(NamedTuple):  # NamedTuple, not a frozen dataclass: thousands are made per feed
    kind: str  # paragraph | heading | list_item
    start: int
    end: int
    boilerplate: bool


class Sentence(NamedTuple):
    start: int
    end: int
    block: int  # index into Article.blocks


@dataclass(frozen=True)
class Article:
    text: str
    blocks: tuple[Block, ...]
    sentences: tuple[Sentence, ...]
    lower: str = ""  # text.lower() when it keeps every offset, else "" (made once, read twice)

    def span(self, start: int, end: int) -> str:
        return self.text[start:end]


def plain_text(text: str) -> str:
    """The article as plain text: HTML (detected by its tags) is converted, text kept."""
    if "<" in text and _HTML_TAG.search(text):
        return html_to_text(text)
    return text


def analyse(text: str, recurring: RecurringIndex | None = None) -> Article:
    """Blocks and sentences of one article; `recurring` indexes the feed's items (this one may
    be among them) so that paragraphs repeated across items are marked as boilerplate."""
    original = text
    text = plain_text(text)
    raw = _raw_blocks(text)
    kinds = [_kind(text, s, e) for s, e in raw]
    low = text.lower()
    promo_at = sorted(_promo_positions(low))
    promo = [
        _any_between(promo_at, s, e)
        or bool(_FILENAME.match(text, s, e))
        or (recurring is not None and recurring.recurs(text[s:e], original))
        for s, e in raw
    ]
    captions = _captions(text, raw, kinds)
    _extend_promo_sections(kinds, promo, captions)
    # after the sections: a dateline or "From: …" heading does not open a promo box
    promo = [p or f for p, f in zip(promo, _furniture(text, raw), strict=True)]
    flags = [p or c for p, c in zip(promo, captions, strict=True)]
    blocks = tuple(
        Block(kind=k, start=s, end=e, boilerplate=b)
        for (s, e), k, b in zip(raw, kinds, flags, strict=True)
    )
    sentences: list[Sentence] = []
    for index, block in enumerate(blocks):
        if block.boilerplate:
            continue  # nothing reads the sentences of boilerplate
        spans = split_sentences(text, block.start, block.end)
        sentences += [Sentence(s, e, index) for s, e in spans]
    same_offsets = len(low) == len(text)  # a few characters lower-case to two ("İ")
    return Article(
        text=text, blocks=blocks, sentences=tuple(sentences), lower=low if same_offsets else ""
    )


def _raw_blocks(text: str) -> list[tuple[int, int]]:
    """Blank-line separated blocks; list items and promo note lines become blocks of their own."""
    spans: list[tuple[int, int]] = []
    for m in _PARAGRAPH.finditer(text):
        start = m.start()
        lines = m.group().split("\n")
        pos = start
        current_start = start
        for i, line in enumerate(lines):
            line_end = pos + len(line)
            new_unit = i > 0 and (_LIST_ITEM.match(line) or _is_promo(lines[i - 1]))
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
    if "\n" in stripped or len(stripped) > 160 or len(stripped.split()) > 16:
        return "paragraph"
    if not _TERMINAL.search(stripped, max(0, len(stripped) - 4)):
        return "heading"
    return "paragraph"


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
    it recurs in at least two OTHER items, exactly or nearly — with the same first six and last
    six words, which catches a promo whose middle was reworded ("a few short paragraphs").
    Once is not enough: follow-up stories on this site reuse whole paragraphs of real news.
    """

    MIN_OTHERS = 2
    ENDS = 6  # words compared at each end of a paragraph

    def __init__(self, texts: Iterable[str] = ()) -> None:
        self._docs: dict[int, int] = {}  # hash of a whole text -> doc id
        self._keys: dict[str, set[int]] = {}
        self._memo: dict[str, tuple[str, ...]] = {}  # the same paragraphs come back to `recurs`
        for doc, text in enumerate(texts):
            self._docs.setdefault(hash(text), doc)
            for para in _BLANK_LINE.split(text):
                for key in self._keys_of(para):
                    self._keys.setdefault(key, set()).add(doc)

    def _keys_of(self, para: str) -> tuple[str, ...]:
        para = para.strip()
        known = self._memo.get(para)
        if known is not None:
            return known
        self._memo[para] = keys = self._compute_keys(para)
        return keys

    def _compute_keys(self, para: str) -> tuple[str, ...]:
        # Only the ends are split into words: this runs over every paragraph of the feed.
        head = para.split(None, self.ENDS + 1)
        if len(head) < 5:
            return ()
        if len(head) <= self.ENDS:
            return ("=" + para.lower(),)
        # A longer paragraph's ends key alone: two exact copies share their ends anyway, so
        # an exact key would find nothing more (and lower-casing every paragraph was slow).
        tail = para.rsplit(None, self.ENDS)[-self.ENDS :]
        words = " ".join(head[: self.ENDS] + tail).lower().split()  # one lower() for twelve
        return ("~" + " ".join([w.strip(_PUNCTUATION) for w in words]),)

    def recurs(self, block: str, own_text: str) -> bool:
        if not self._docs:
            return False
        own = self._docs.get(hash(own_text), -1)
        docs: set[int] = set()
        for key in self._keys_of(block):
            docs |= self._keys.get(key, set())
        docs.discard(own)
        return len(docs) >= self.MIN_OTHERS


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
    if mark - sent_start <= 3 and text[sent_start:mark].isdigit():
        return True  # a list enumerator, "1."
    nxt = stop
    while nxt < end and text[nxt].isspace():
        nxt += 1
    if nxt >= end:
        return False
    first = text[nxt]
    # A sentence starts with a capital, a digit, an opening quote or a bullet.
    if not (first.isupper() or first.isdigit() or first in "“\"‘'•(£$€"):
        return True
    if text[mark] == "." and stop == mark + 1:
        tail = text[max(sent_start, mark - 12) : mark]
        token = tail.rsplit(None, 1)[-1].lower().rstrip(".") if tail.strip() else ""
        token = token.lstrip("(“\"‘'")
        if token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
            return True  # "Dr.", "No.", an initial such as "J."
    return False
