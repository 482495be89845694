"""What a figure says, in the article's own words: its claim (the shortest clause of its
sentence a reader understands alone), what it measures, and whether it went up or down.

The claim is the clause holding the figure, cut at the joints English uses between clauses
("; ", " – ", ", while", ", but", ", with", ", which", ", according to …"), without the
reporting frame around it ("The report found that …", "…, the survey shows") and with the
change that follows it kept (", up from 24% in the previous year"). Hand-written: no library
splits clauses without a parser model.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

from bot.extract.text import alternation
from bot.models import Direction

# Where one clause of a sentence ends and the next begins.
# Where one clause of a sentence ends and the next begins, by kind of joint:
_JOINT_PUNCTUATION = (
    r";\s+|\s[–—]\s+|:\s+(?=[‘“\"]?[A-Z])"
    r"|[.!?][¹²³⁴⁵⁶⁷⁸⁹⁰\]\d\[]*\s+(?=[A-Z])"  # a full stop with a footnote mark after it
)
# "56% had experienced violence, 55% had experienced exploitation and 40% had …"
_JOINT_LIST = (
    r"(?:,\s+(?:and\s+)?|\s+and\s+)(?=(?:a further\s+|another\s+)?\d[\d.]*(?:%| per cent) "
    r"(?:had|were|was|said|say|have|are)\b)"
)
_JOINT_WORDS = (
    r",\s+(?=(?:while|whereas|but|although|though|compared with|compared to|against|paying|"
    r"including|meaning|leaving|with|which|when|where|as|a proportion|a figure|a rise|a fall|"
    r"an increase|a drop|according to|its\s|their\s|the (?:report|survey|review|analysis|"
    r"research|study|data|figures|findings|charity|council|panel|union|department) (?:\w+\s)?"
    r"(?:found|finds|said|says|shows?|showed|reveals?|revealed|notes?|noted|estimates?)|"
    r"it (?:said|says|found|estimates)|and (?:that\s)?(?=[a-z]+\s)(?!(?:up|down)\b))\b)"
)
_JOINTS = re.compile(f"{_JOINT_PUNCTUATION}|{_JOINT_LIST}|{_JOINT_WORDS}")
# "25 involving mixed-heritage children, 15 concerning Black children and 14 relating to …":
# an enumeration of figures is cut into its items when it has at least three
_ENUMERATION = re.compile(
    r"(?:,\s+(?:and\s+)?|\s+and\s+)(?=[£$€]?\d[\d,.]*(?:%| per cent)?\s+[a-z])"
)
# A reporting frame before the finding: "The report found that", "Figures show".
_FRAME = re.compile(
    r"^(?:[^;:]{0,140}?\b(?:found|finds|find|shows?|showed|shown|revealed|reveals?|says|said|"
    r"notes?|noted|estimates|suggests?|suggested|concluded|concludes|reports|"
    r"reported|confirms?|confirmed|calculates?)\s+(?:that\s+)?)",
)
_LEADERS = re.compile(
    r"(?:[•·]\s*|\d{1,2}\.\s+|according to [^,;]{3,80},\s+|(?:in all|overall|in total|"
    r"nationally|locally|meanwhile|however|of those|of these|in addition|altogether|"
    r"by contrast|at the same time),\s+"
    r"|(?:and|but|while|"
    r"whereas|with|which|although|though|so)\s+)",
    re.IGNORECASE,
)
_TAIL_FRAME = re.compile(
    r",?\s+(?:the|a|its|their)\s+[\w’' -]{0,40}?(?:found|finds|said|says|shows?|showed|"
    r"reveals?|revealed|notes?|estimates?|reported)\.?$|,?\s+according to [^,]+$",
)
_FRAME_VERBS = frozenset(
    "found finds said says show shows showed reveals revealed notes noted estimates estimated "
    "reported".split()
)
_UP_WORDS = (
    "up rose risen rise rises rising increase increased increases increasing grew grown grow "
    "higher climbed jumped doubled trebled tripled soared surged record"
).split()
_DOWN_WORDS = (
    "down fell fallen fall falls falling drop dropped drops decrease decreased decreases "
    "declined decline cut lower halved reduced shrank shrunk"
).split()
# one scan for both directions, on the lower-cased clause, factored by first letter
# led by the words' first letters (a leading \b would stop the engine skipping ahead)
_DIRECTION = re.compile(rf"(?:{alternation(_UP_WORDS + _DOWN_WORDS)})\b")
_DOWN_SET = frozenset(_DOWN_WORDS)
_BASELINE = re.compile(
    r"\b(?:from|on|compared with|compared to|than in|than|since)\s+"
    r"(?P<base>(?:[^,;.–—()]|[.,](?=\d))+?)"  # "£6.1bn", "11,200": a point inside a number
    r"(?=\s+to\s+[£$€\d]|[,;.–—()](?!\d)|\s+(?:and|but|while)\b|$)",
)
_QUALIFIER_END = re.compile(
    r"(?<![\w’'])(?:around|about|nearly|almost|more than|fewer than|less than|well over|over|"
    r"under|up to|just|only|some|roughly|at least|an estimated|a further|approximately)$",
    re.IGNORECASE,
)
_AUX_TAIL = re.compile(
    r"(?:\s+(?:has|have|had|is|are|was|were|been|also|now|then|more than|almost|nearly))+\s*$",
    re.IGNORECASE,
)
_NUMBER_OF = re.compile(r"^(?:the\s+)?number\s+of\s+", re.IGNORECASE)
# another figure inside a subject ("More than 4,200 families used …, up 18%")
_FIGURE_TOKEN = re.compile(
    r"(?:(?:more|fewer|less) than |around |about |nearly |almost |some )?[£$€]?\d[\d,.]*"
    r"(?:bn|m|k| ?%| per cent| million| billion)?\s*"
)
_VERBISH = re.compile(r"\b(?:was|were|is|are|had|has|have)\b")
# words of a reporting frame: _FRAME is tried only when one of them is there
_OPENING = {"”": "“", "’": "‘"}
_TRAILING_PREPOSITION = re.compile(r"\s+(?:in|of|for|to|at|on|among|by|from)$")
_UNIT_LEAD = re.compile(r"^(?:per cent|percent|%)\s*")
_PHRASE_STOPS = frozenset(
    "as or and than either with while whereas by in of for were was are is had has have "
    "who which that".split()
)
_NUMBER_WORDS = frozenset(
    "two three four five six seven eight nine ten half third quarter fifth tenth".split()
)
_FRAME_AFTER = re.compile(
    r",\s+(?:finds|found|shows|showed|reveals|revealed|concludes|concluded|says|said|"
    r"estimates|suggests|argues|warns)\s+(?:that\s+)?"
)
_FRAME_WORDS = frozenset(
    "found finds find show shows showed shown revealed reveals says said notes note noted "
    "estimates suggests suggested concluded concludes reports reported confirms confirmed "
    "calculates".split()
)


class Said(NamedTuple):
    claim: str
    what: str
    change: Direction
    baseline: str  # an exact span of the sentence, or ""


@functools.lru_cache(maxsize=64)
def _lower(sentence: str) -> str:
    return sentence.lower()


def _direction(sentence: str, lo: int, hi: int) -> re.Match[str] | None:
    """The first up/down word in sentence[lo:hi], as a whole word."""
    low = _lower(sentence)
    m = _DIRECTION.search(low, lo, hi)
    while m is not None and m.start() and low[m.start() - 1].isalpha():
        m = _DIRECTION.search(low, m.start() + 1, hi)
    return m


@functools.lru_cache(maxsize=64)
def _joints(sentence: str) -> tuple[tuple[int, int], ...]:
    # cached: a sentence with several figures is cut once
    out = []
    items = [(m.start(), m.end()) for m in _ENUMERATION.finditer(sentence)]
    if len(items) >= 2:
        out += items
    for m in _JOINTS.finditer(sentence):
        dash = sentence[m.start() : m.end()].strip()
        if dash in ("–", "—") and (
            0 <= sentence.find(dash, m.end(), m.end() + 40) - m.end() < 30
            or 0 <= m.start() - sentence.rfind(dash, max(0, m.start() - 40), m.start()) < 30
        ):
            continue  # a short aside between two dashes: "23,700 children – 41% – were"
        out.append((m.start(), m.end()))
    return tuple(sorted(set(out)))


def clause_of(sentence: str, start: int, end: int) -> tuple[int, int]:
    """The clause of `sentence` holding the figure at sentence[start:end]."""
    lo, hi = 0, len(sentence)
    for j_start, j_end in _joints(sentence):
        if j_end <= start:
            lo = j_end
        elif j_start >= end:
            hi = j_start
            break
    return lo, hi


def describe(sentence: str, start: int, end: int, *, baseline_figure: bool = False) -> Said:
    """Claim, what and change of the figure at sentence[start:end]."""
    lo, hi = clause_of(sentence, start, end)
    clause = sentence[lo:hi]
    # the frame "The report found that" goes when the figure comes after it
    inner = _FRAME_AFTER.search(sentence, end, hi)
    if inner is not None:  # "Hidden …, based on the records of 3,180 children …, finds that"
        hi = inner.start()
        clause = sentence[lo:hi]
    frame = _FRAME.match(clause) if _FRAME_WORDS & set(sentence[lo:start].split()) else None
    if frame and lo + frame.end() <= start and len(clause) - frame.end() > 12:
        lo += frame.end()
    lead = _LEADERS.match(sentence, lo)
    if lead and lead.end() <= start:
        lo = lead.end()
    last = sentence[lo:hi].rstrip(" .").rsplit(None, 1)[-1:]
    if (last and last[0].lower() in _FRAME_VERBS) or "according to" in sentence[end:hi]:
        tail = _TAIL_FRAME.search(sentence, end, hi)
        if tail:
            hi = tail.start()
    while hi > lo and sentence[hi - 1] in ' .,:;”’"':
        closing = sentence[hi - 1]
        if closing in "”’" and sentence.count(_OPENING[closing], lo, hi) > sentence.count(
            closing, lo, hi - 1
        ):
            break  # the quote the claim opens also closes in it: “a lot”
        hi -= 1
    claim = _with_subject(sentence, lo, sentence[lo:hi].strip())
    change, base = _change(sentence, lo, hi, start, end, baseline_figure)
    return Said(claim, _what(sentence, lo, hi, start, end), change, base)


# a clause that opens with its verb has left its subject in the sentence before it
_NO_SUBJECT = frozenset(
    "is was are were has had have rose risen fell fallen grew grown increased decreased "
    "reached stood now would will could lets pays affected totalled total totals accounted "
    "climbed dropped doubled".split()
)
_ADVERBIAL_LEADS = frozenset(
    "over on among in for at by during since after before across despite under with from "
    "between within last this according overall".split()
)
_SUBJECT_END = re.compile(r"\s[–—]\s|,\s|\s(?:who|which|that)\s|\s\(")


def _with_subject(sentence: str, lo: int, claim: str) -> str:
    """ "rose to 158,000, up 8% on the year before" says nothing of what rose: the sentence's
    subject is put before it, the words between elided ("The number of severely absent pupils
    … rose to 158,000")."""
    words = claim.split(None, 1)
    if not lo or not words or words[0].lower() not in _NO_SUBJECT:
        return claim
    at = 0
    while True:  # past a leading adverbial: "Over the same period, spending on … rose"
        cut = _SUBJECT_END.search(sentence, at, lo)
        subject = sentence[at : cut.start() if cut else lo].strip(" ,–—")
        first = subject.split(None, 1)[0].lower() if subject else ""
        if cut is None or first not in _ADVERBIAL_LEADS:
            break
        at = cut.end()
    if not subject or first in _ADVERBIAL_LEADS or len(subject.split()) > 12:
        return claim
    gap = sentence[(cut.start() if cut else lo) : lo]
    return f"{subject} {claim}" if not gap.strip() else f"{subject} … {claim}"


def _change(
    sentence: str, lo: int, hi: int, start: int, end: int, baseline_figure: bool
) -> tuple[Direction, str]:
    if baseline_figure:
        return "", ""
    first = _figure_direction(sentence, lo, hi, start, end)
    if first is None:
        return _multiple_direction(sentence[start:end]), ""
    direction: Direction = "down" if first.group() in _DOWN_SET else "up"
    # the baseline: what follows "from"/"on"/"compared with" after the figure or the verb
    base = ""
    for m in _BASELINE.finditer(sentence, max(lo, min(start, first.start())), hi):
        if m.start("base") >= end or m.end("base") <= start:
            span = m.group("base").strip()
            if span and not (m.start("base") <= start < m.end("base")):
                base = span
                break
    return direction, base


# "given up work", "made up 13%", "up to 60 miles", "set up": up as a particle, not a rise
_PARTICLE_UP_BEFORE = re.compile(
    r"\b(?:give|gives|gave|given|giving|make|makes|made|making|set|sets|setting|take|takes|"
    r"took|taken|end|ends|ended|pick|picked|sign|signed|signing|turn|turned|show|showed|"
    r"shown|open|opened|back|backed|step|stepped|sum|summed|add|added|adds|keep|kept|"
    r"bring|brought|put|puts|tot|totted|take)\s+$"
)
# what the population did or said, between a share and the word: "61% had cut back on
# food", "two in five said their caseload had risen" (the figure itself did not change)
_PREDICATE = re.compile(
    r"\b(?:had|have|has|said|say|says|reported|report|reports|saw|seen|felt|feel|feels|"
    r"thought|think|thinks|believed|believe|expected|expect|were|are|was|is)\b"
)
# ", up from 36 per cent", "down 3% on": the figure's own change, whatever comes between
_CHANGE_MARK = re.compile(r"\s+(?:from|on|by|\d|[£$€]|a\s+(?:third|quarter|half|fifth))")


def _figure_direction(
    sentence: str, lo: int, hi: int, start: int, end: int
) -> re.Match[str] | None:
    """The first up/down word of the clause that tells how the figure changed: not a
    particle ("given up", "up to"), nor, after a share, what its population did."""
    low = _lower(sentence)
    at = lo
    while (m := _direction(sentence, at, hi)) is not None:
        at = m.end()
        word = m.group()
        if word == "up" and (
            _PARTICLE_UP_BEFORE.search(low, max(0, m.start() - 12), m.start())
            or low.startswith(" to ", m.end())
        ):
            continue
        if (
            m.start() >= end
            and not (word in ("up", "down") and _CHANGE_MARK.match(low, m.end()))
            and _PREDICATE.search(low, end, m.start())
        ):
            continue
        return m
    return None


def _multiple_direction(figure: str) -> Direction:
    """ "has more than doubled", "halved": the figure is the change (not "twice as likely",
    a comparison)."""
    low = figure.lower()
    if low == "halved":
        return "down"
    return "up" if low in ("doubled", "tripled", "trebled", "quadrupled") else ""


def _what(sentence: str, lo: int, hi: int, start: int, end: int) -> str:
    """The measured population with its condition, from the clause's own words: for a
    change, what changed ("the number of foster carers has risen from 212 to 247" →
    "foster carers"); for a share, its population and predicate; else the clause without
    the figure."""
    if start and sentence[start - 1 : start] == "(" and sentence[end : end + 1] == ")":
        named = _parenthesised(sentence[lo : start - 1])
        if named:  # "known either as an open case (35%)": the open case is what it counts
            return named
    turn = _direction(sentence, lo, hi)
    if turn is not None and turn.start() < start and turn.start() - lo > 8:
        subject = _AUX_TAIL.sub("", sentence[lo : turn.start()]).strip(" ,–—")
        subject = _NUMBER_OF.sub("", _FIGURE_TOKEN.sub("", subject))
        subject = " ".join(subject.split())
        if subject:
            return subject
    before = sentence[lo:start]
    after = sentence[end:hi]
    for marker in (" up ", " down "):  # ", up from 24% …" is the change, not the population
        cut = after.find(marker)
        if cut >= 0:
            after = after[:cut]
    before = _strip_qualifier(before).strip(" ,(")
    after = after.strip(" ,)")
    if after.lower().startswith("of "):
        population = after[3:]
        if population.lower().startswith("the "):
            population = population[4:]
        if population[:1].isdigit():  # "two of the 108 children": the 108 is not the what
            population = _FIGURE_TOKEN.sub("", population, count=1)
        if _verbish(before):
            before = _TRAILING_PREPOSITION.sub("", before)  # "a factor in" 49% of …
            joint = "" if before.lower().startswith(("where ", "when ", "in ")) else "where "
            return f"{population} {joint}{before[0].lower() + before[1:]}".strip()
        return population
    after = _UNIT_LEAD.sub("", after)
    return f"{before} {after}".strip()


def _parenthesised(before: str) -> str:
    """The noun phrase a bracketed figure belongs to: the last words before the bracket,
    back to a comma or a joining word; "" when a figure stands there already."""
    words = before.rstrip().split()
    if not words or words[-1][-1:].isdigit() or words[-1].lower() in _NUMBER_WORDS:
        return ""
    kept: list[str] = []
    for w in reversed(words[-7:]):
        if w.endswith((",", ";", ":")) or w.lower() in _PHRASE_STOPS:
            break
        kept.insert(0, w)
    while kept and kept[0].lower() in ("a", "an", "the"):
        kept = kept[1:]
    if all(w.lower().endswith("ly") for w in kept):
        return ""  # "or previously (42%)": an adverb names nothing
    return " ".join(kept)


def _verbish(phrase: str) -> bool:
    return bool(_VERBISH.search(phrase))


def _strip_qualifier(before: str) -> str:
    """ "well over", "nearly", "an estimated" before the figure are not the population."""
    kept = before.rstrip()
    m = _QUALIFIER_END.search(kept, max(0, len(kept) - 16))
    return kept[: m.start()] if m else kept
