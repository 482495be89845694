"""Key figures: amounts stated in digits or words, with what they measure and their sentence.

Not figures: dates, years and periods (2023-24), times, legal references (section 47,
Children Act 1989), ordinals, list enumerators, phone numbers, numbers inside URLs, e-mail
addresses or names (Article 39, No 10 Downing Street, Covid-19), and a bare "one" (a pronoun
far more often than an amount) unless it is bounded or compared: "at least one", "one in five".

Hand-written rules: quantulum3 and spaCy's number entities score lower on this text (see
bench/extract_eval.py) and spaCy needs a model download.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

from bot.extract.text import Article
from bot.models import Figure

_UNITS = {
    "zero": 0,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_FRACTIONS = {
    "half": 0.5,
    "halves": 0.5,
    "third": 1 / 3,
    "thirds": 1 / 3,
    "quarter": 0.25,
    "quarters": 0.25,
    "fifth": 0.2,
    "fifths": 0.2,
    "tenth": 0.1,
    "tenths": 0.1,
}
_MULTIPLIERS = {
    "bn": 1e9,
    "billion": 1e9,
    "m": 1e6,
    "million": 1e6,
    "k": 1e3,
    "thousand": 1e3,
    "trillion": 1e12,
}
_CURRENCIES = {"£": "GBP", "$": "USD", "€": "EUR"}
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|"
    "december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_WORDNUM = (
    r"(?:(?:" + "|".join(_TENS) + r")(?:[- ](?:one|" + "|".join(list(_UNITS)[1:9]) + r"))?"
    r"|" + "|".join(_UNITS) + r"|one)(?:\s+(?:hundred|thousand|million|billion))?"
)
_FRACTION_WORDS = r"(?:half|halves|thirds?|quarters?|fifths?|tenths?)"
_PATTERN = re.compile(
    rf"""
    (?P<money>(?P<cur>[£$€])\s?(?P<mnum>{_NUM})(?:\s?(?P<mmult>bn|billion|m|million|k|trillion)\b)?)
  | (?P<range>(?P<lo>{_NUM})\s?(?P<rsep>-|–|to)\s?(?P<hi>{_NUM})(?P<rpct>\s?%|\s?per\s?cent\b)?)
  | (?P<percent>(?P<pnum>{_NUM})\s?(?:%|per\s?cent\b|percent\b))
  | (?P<ratio>\b(?P<rnum>\d{{1,3}}|{_WORDNUM})\s+in\s+(?P<rden>\d{{1,3}}|{_WORDNUM})\b(?![-–]))
  | (?P<fraction>\b(?:(?P<fnum>a|one|two|three|four|nine)[- ])?(?P<fden>{_FRACTION_WORDS})\b)
  | (?P<multiple>\b(?:twice|(?P<mtimes>{_NUM}|{_WORDNUM})\s+times)\b)
  | (?P<number>(?<![\w.,/-])(?P<nnum>{_NUM})(?:\s?(?P<nmult>bn|billion|million|m|k)\b)?)
  | (?P<word>\b(?P<wnum>{_WORDNUM})\b)
    """,
    re.VERBOSE | re.IGNORECASE,
)
_YEAR = re.compile(r"(?:19|20)\d\d$")
_PERIOD_AFTER = re.compile(r"[-–/](?:\d\d|(?:19|20)\d\d)\b")
_LEGAL_BEFORE = re.compile(
    r"(?:\b(?:section|sections|s\.|article|articles|regulation|regulations|clause|schedule|"
    r"part|chapter|rule|paragraph|para|annex|appendix|no|number|year|stage|level|ward|room|"
    r"key stage|covid|page|pages|p\.|tier|category|step|phase|grade|band|route)|Act)\s*$",
    re.IGNORECASE,
)
_DATE_AFTER = re.compile(rf"^\s*(?:{_MONTHS})\b", re.IGNORECASE)
_DATE_BEFORE = re.compile(rf"\b(?:{_MONTHS})\s*$", re.IGNORECASE)
_TIME_AFTER = re.compile(r"^(?:[:.]\d\d)?\s?(?:am|pm|a\.m\.|p\.m\.)\b|^:\d\d\b", re.IGNORECASE)
_ORDINAL_AFTER = re.compile(r"^(?:st|nd|rd|th)\b", re.IGNORECASE)
_TOKEN_WITH_URL = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\S+|\+?\d[\d ]{9,}\d")
_BOUNDED_ONE = re.compile(
    r"(?:at least|less than|more than|fewer than|only|just|no later than|up to|than|over|under)"
    r"\s+$",
    re.IGNORECASE,
)
_ONE_AFTER = re.compile(r"^\s+(?:or more|in\b)", re.IGNORECASE)
_FINDING = re.compile(
    r"\b(?:found|find|finds|revealed|showed|shows|show|analys[ei]s|analysed|data|survey|poll|"
    r"recorded|received|reviews?|report|study|studies|according|figures|rate|incidents|"
    r"cases|respondents|children|families)\b",
    re.IGNORECASE,
)
_NARRATIVE = re.compile(
    r"^(?:-year-old|years?|months?|weeks?|days?|hours?|minutes?|seconds?|-month-old|"
    r"year-old|times|counts?|votes|words|paragraphs|areas)\b|aged\s*$|^(?:days?|weeks?)\b",
    re.IGNORECASE,
)
_STOP_WHAT = frozenset(
    "a an the in on at to for from by with was were is are had has have been be being and or "
    "but that which who whom while when where than as also it its their his her they this these "
    "those such so not no nor if after before during since between among per each every "
    "said says saying believed believe noted found find revealed showed had has were was "
    "would could should will may might can".split()
)


# Where a figure can start: a digit, a currency sign, a number or fraction word. The full
# pattern is tried only there, which keeps extraction fast (it is slow to scan everywhere).
_TRIGGER = re.compile(
    rf"[£$€]|\d|\b(?:{_WORDNUM}|{_FRACTION_WORDS}|twice|a(?=[- ]{_FRACTION_WORDS}))\b",
    re.IGNORECASE,
)


def find_figures(article: Article) -> Iterator[Figure]:
    text = article.text
    excluded = [(m.start(), m.end()) for m in _TOKEN_WITH_URL.finditer(text)]
    excluded_starts = [s for s, _ in excluded]
    last_what: dict[str, str] = {}  # per kind: "…, with a further 16% saying" means the same
    for sent in article.sentences:
        block = article.blocks[sent.block]
        if block.boilerplate or block.kind == "heading":
            last_what = {}
            continue
        for m in _candidates(text, sent.start, sent.end):
            k = bisect.bisect_right(excluded_starts, m.start()) - 1
            if k >= 0 and excluded[k][0] <= m.start() < excluded[k][1]:
                continue
            if block.kind == "list_item" and m.start() - block.start <= 4 and m.group("number"):
                continue  # "  1. " enumerator
            parsed = _interpret(m, text)
            if parsed is None:
                continue
            kind, value, low, high, unit = parsed
            sentence = text[sent.start : sent.end]
            what = _what(text, m.start(), m.end(), sent.start, sent.end, kind)
            inherit = kind in ("percent", "fraction") and not what.startswith("of ")
            if inherit and kind in last_what and not _noun_follows(text, m.end()):
                what = last_what[kind]
            if what:
                last_what[kind] = what
            yield Figure(
                text=m.group(0),
                start=m.start(),
                end=m.end(),
                kind=kind,
                value=value,
                low=low,
                high=high,
                unit=unit,
                what=what,
                sentence=sentence,
                salience=_salience(kind, value, what, sentence, block.kind, text, m.end()),
            )


def _candidates(text: str, start: int, end: int) -> Iterator[re.Match[str]]:
    pos = start
    for trigger in _TRIGGER.finditer(text, start, end):
        if trigger.start() < pos:
            continue  # inside the previous figure ("300" of "116,300")
        m = _PATTERN.match(text, trigger.start(), end)
        if m is not None and m.end() > m.start():
            pos = m.end()
            yield m


def _interpret(
    m: re.Match[str], text: str
) -> tuple[str, float | None, float | None, float | None, str] | None:
    before = text[max(0, m.start() - 40) : m.start()]
    after = text[m.end() : m.end() + 20]
    if m.group("money"):
        value = _number(m.group("mnum")) * _MULTIPLIERS.get((m.group("mmult") or "").lower(), 1)
        return "money", value, None, None, _CURRENCIES[m.group("cur")]
    if m.group("range"):
        lo, hi = m.group("lo"), m.group("hi")
        if _YEAR.match(lo) and (len(hi) == 2 or _YEAR.match(hi)):
            return None  # a period: 2023-24, 2018-21, 2018 to 2021
        if _LEGAL_BEFORE.search(before) or _DATE_AFTER.match(after):
            return None
        unit = "%" if m.group("rpct") else ""
        return "range", None, _number(lo), _number(hi), unit
    if m.group("percent"):
        return "percent", _number(m.group("pnum")), None, None, "%"
    if m.group("ratio"):
        num, den = _any_number(m.group("rnum")), _any_number(m.group("rden"))
        if num is None or den is None or not 0 < num <= den <= 1000:
            return None
        return "ratio", num / den, None, None, ""
    if m.group("fraction"):
        whole = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "nine": 9}
        count = whole.get((m.group("fnum") or "a").lower(), 1)
        if m.group("fden").lower() in ("half", "halves") and re.search(r"\bbe$", before.strip()):
            return None
        return "fraction", count * _FRACTIONS[m.group("fden").lower()], None, None, ""
    if m.group("multiple"):
        times = m.group("mtimes")
        return "multiple", 2.0 if times is None else _any_number(times), None, None, "times"
    if m.group("number"):
        raw = m.group("nnum")
        if (_YEAR.match(raw) and not m.group("nmult")) or _PERIOD_AFTER.match(after):
            return None
        if _LEGAL_BEFORE.search(before) or _ORDINAL_AFTER.match(after):
            return None
        if _DATE_AFTER.match(after) or _DATE_BEFORE.search(before) or _TIME_AFTER.match(after):
            return None
        if re.match(r"^[A-Za-z]", after) and not m.group("nmult"):
            return None  # glued to letters: A1, 16C, 3G
        if re.search(r"[A-Za-z]-?$|\w\($", before):
            return None  # Covid-19, M25, the (1) of section 16C(1)
        value = _number(raw) * _MULTIPLIERS.get((m.group("nmult") or "").lower(), 1)
        return ("decimal" if "." in raw else "count"), value, None, None, ""
    word = m.group("wnum")
    if word.lower() == "one" and not (_BOUNDED_ONE.search(before) or _ONE_AFTER.match(after)):
        return None
    if re.search(r"\b(?:no|any|every|some)\s*$", before, re.IGNORECASE) and word.lower() == "one":
        return None
    return "count", _any_number(word), None, None, ""


def _number(raw: str) -> float:
    return float(raw.replace(",", ""))


def _any_number(raw: str) -> float | None:
    raw = raw.strip().lower()
    if raw[:1].isdigit():
        return _number(raw)
    total, current = 0.0, 0.0
    for part in re.split(r"[\s-]+", raw):
        if part == "one":
            current += 1
        elif part in _UNITS:
            current += _UNITS[part]
        elif part in _TENS:
            current += _TENS[part]
        elif part in _SCALES:
            current = max(current, 1) * _SCALES[part]
            if _SCALES[part] >= 1000:
                total, current = total + current, 0.0
        else:
            return None
    return total + current


def _what(text: str, start: int, end: int, s_start: int, s_end: int, kind: str) -> str:
    """What the figure measures: the noun phrase after it ("of respondents", "rapid reviews"),
    else the phrase before it ("average spend on EHE services")."""
    after = text[end:s_end]
    words = re.findall(r"[\w’'/-]+|[^\w\s]", after)
    phrase: list[str] = []
    if words and words[0].lower() == "of":
        phrase.append("of")
        words = words[1:]
        if words and words[0].lower() in ("the", "all", "these", "those"):
            phrase.append(words[0])
            words = words[1:]
    for w in words:
        if not re.match(r"[\w’'/-]+$", w) or w.lower() in _STOP_WHAT or len(phrase) >= 6:
            break
        if phrase and phrase[-1] != "of" and re.fullmatch(r"[a-z]+ed", w):
            break  # "respondents believed": the verb ends the noun phrase
        phrase.append(w.lstrip("-"))
    if phrase and phrase[-1].lower() not in ("of", "the", "all", "these", "those"):
        return " ".join(phrase)
    before = text[s_start:start].rstrip(" (")  # "an open case (35%)": the case is the what
    clause = re.split(r",(?!\d)|[;:(–—]|\band\b|\bwhile\b", before)[-1]
    tokens = [t for t in re.findall(r"[A-Za-z][\w’'-]*", clause)]
    while tokens and tokens[-1].lower() in _STOP_WHAT | {
        "of",
        "about",
        "almost",
        "nearly",
        "around",
        "over",
        "just",
        "some",
    }:
        tokens.pop()
    return " ".join(tokens[-6:])


def _noun_follows(text: str, end: int) -> bool:
    word = re.match(r"\s*([A-Za-z’'-]+)", text[end : end + 30])
    if not word:
        return False
    return word.group(1).lower() not in _STOP_WHAT and not word.group(1).endswith("ing")


def _salience(
    kind: str, value: float | None, what: str, sentence: str, block_kind: str, text: str, end: int
) -> float:
    score = {
        "percent": 0.55,
        "money": 0.55,
        "ratio": 0.5,
        "fraction": 0.45,
        "multiple": 0.45,
        "count": 0.35,
        "decimal": 0.35,
        "range": 0.25,
    }.get(kind, 0.3)
    if _FINDING.search(sentence):
        score += 0.2
    if block_kind == "list_item":
        score += 0.1
    if value is not None and value >= 100 and kind in ("count", "money"):
        score += 0.1
    if _NARRATIVE.search(text[end : end + 12]) or _NARRATIVE.search(what):
        score -= 0.35  # ages, durations, word counts: narrative, not findings
    return round(min(1.0, max(0.0, score)), 2)
