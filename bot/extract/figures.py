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

from bot.extract.text import Article, alternation
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
# Two patterns, chosen by what the figure starts with: one big alternation tried at every
# trigger was the extractor's single largest cost.
_DIGIT_PATTERN = re.compile(
    rf"""
    (?P<money>(?P<cur>[£$€])\s?(?P<mnum>{_NUM})(?:\s?(?P<mmult>bn|billion|m|million|k|trillion)\b)?)
  | (?P<range>(?P<lo>{_NUM})\s?(?P<rsep>-|–|to)\s?(?P<hi>{_NUM})(?P<rpct>\s?%|\s?per\s?cent\b)?)
  | (?P<percent>(?P<pnum>{_NUM})\s?(?:%|per\s?cent\b|percent\b))
  | (?P<ratio>(?P<rnum>\d{{1,3}})\s+in\s+(?P<rden>\d{{1,3}}|{_WORDNUM})\b(?![-–]))
  | (?P<multiple>(?P<mtimes>{_NUM})\s+times\b)
  | (?P<number>(?<![\w.,/-])(?P<nnum>{_NUM})(?:\s?(?P<nmult>bn|billion|million|m|k)\b)?)
    """,
    re.VERBOSE | re.IGNORECASE,
)
_WORD_PATTERN = re.compile(
    rf"""
    (?P<ratio>\b(?P<rnum>{_WORDNUM})\s+in\s+(?P<rden>\d{{1,3}}|{_WORDNUM})\b(?![-–]))
  | (?P<fraction>\b(?:(?P<fnum>a|one|two|three|four|nine)[- ])?(?P<fden>{_FRACTION_WORDS})\b)
  | (?P<multiple>\b(?:twice|(?P<mtimes>{_WORDNUM})\s+times)\b)
  | (?P<word>\b(?P<wnum>{_WORDNUM})\b)
    """,
    re.VERBOSE | re.IGNORECASE,
)
_YEAR = re.compile(r"(?:19|20)\d\d$")
_PERIOD_AFTER = re.compile(r"[-–/](?:\d\d|(?:19|20)\d\d)\b")
# Words that make the number after them a reference or a name, not an amount.
_REFERENCE_WORDS = frozenset(
    "section sections s. article articles regulation regulations clause schedule part chapter "
    "rule paragraph para annex appendix no no. number year stage level ward room covid page "
    "pages p. tier category step phase grade band route act".split()
)
_DATE_AFTER = re.compile(rf"^\s*(?:{_MONTHS})\b", re.IGNORECASE)
_MONTH_WORDS = frozenset(_MONTHS.split("|"))
_TIME_AFTER = re.compile(r"^(?:[:.]\d\d)?\s?(?:am|pm|a\.m\.|p\.m\.)\b|^:\d\d\b", re.IGNORECASE)
_ORDINAL_AFTER = re.compile(r"^(?:st|nd|rd|th)\b", re.IGNORECASE)
_URL = re.compile(r"(?:https?://|www\.)\S+")
_EMAIL_USER = re.compile(r"[\w.+-]+$")
_EMAIL_HOST = re.compile(r"[\w-]+\.[\w.-]+")
_PHONE = re.compile(r"[+\d][\d ]{9,}\d")  # a leading class, not "\+?", lets re skip ahead
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
# pattern is tried only there: scanning every position with it is four times slower.
_DIGIT_TRIGGER = re.compile(r"[£$€\d][\d,.]*")  # one hit per numeric token
_DIGIT_STARTS = frozenset("£$€0123456789")
_TRIGGER_WORDS = sorted(
    # scale words ("hundred") only ever follow another number word, which triggers first
    set(re.findall(r"[a-z]+", _WORDNUM + " " + _FRACTION_WORDS))
    - {"s", "or", "in", "hundred", "thousand", "million", "billion"}
    | {"twice"},
    key=len,
    reverse=True,
)
# on lower-cased text, factored by first letter: the regex engine scans that fastest
_WORD_TRIGGER = re.compile(alternation(_TRIGGER_WORDS) + rf"|a(?=[- ]{_FRACTION_WORDS})")


_GLUED_BEFORE = re.compile(r"[A-Za-z]-?$|\w\($")
_NO_ONE_BEFORE = re.compile(r"\b(?:no|any|every|some)\s*$", re.IGNORECASE)
_NUMBER_WORD_SPLIT = re.compile(r"[\s-]+")
_PAST_TENSE = re.compile(r"[a-z]+ed")
_CLAUSE_BREAK = re.compile(r",(?!\d)|[;:(–—]|\band\b|\bwhile\b")
_WHAT_BEFORE_WORD = re.compile(r"[A-Za-z][\w’'-]*")
_NEXT_WORD = re.compile(r"\s*([A-Za-z’'-]+)")


def find_figures(article: Article, title: str = "") -> Iterator[Figure]:
    text = article.text
    excluded = _excluded_spans(text)
    excluded_starts = [s for s, _ in excluded]
    sentence_starts = [s.start for s in article.sentences]
    finding: dict[int, bool] = {}  # sentence start -> does it report a finding?
    # per kind, the last "what" and its block: "…, with a further 16% saying" means the same
    last_what: dict[str, tuple[str, int]] = {}
    section = _sections(article)
    last_section = -1
    pos = 0
    for at in _triggers(text, article.lower):
        if at < pos:
            continue  # inside the previous figure ("300" of "116,300")
        k = bisect.bisect_right(sentence_starts, at) - 1
        if k < 0 or at >= article.sentences[k].end:
            continue
        sent = article.sentences[k]
        block = article.blocks[sent.block]
        if block.boilerplate or block.kind == "heading":
            continue
        pattern = _DIGIT_PATTERN if text[at] in _DIGIT_STARTS else _WORD_PATTERN
        m = pattern.match(text, at, sent.end)
        if m is None or m.end() == m.start():
            continue
        pos = m.end()
        e = bisect.bisect_right(excluded_starts, at) - 1
        if e >= 0 and excluded[e][0] <= at < excluded[e][1]:
            continue
        if block.kind == "list_item" and at - block.start <= 4 and m.lastgroup == "number":
            continue  # "  1. " enumerator
        parsed = _interpret(m, text)
        if parsed is None:
            continue
        kind, value, low, high, unit = parsed
        end = m.end()
        age = _AGE.match(text, end)
        if age and kind == "count":  # "two-year-old": the age is one span, a narrative number
            end, unit = age.end(), age.group(1).lower() + "s"
        if section[sent.block] != last_section:
            last_what, last_section = {}, section[sent.block]
        sentence = text[sent.start : sent.end]
        what = _what(text, at, end, sent.start, sent.end, kind)
        inherit = kind in ("percent", "fraction") and not what.startswith("of ")
        earlier = last_what.get(kind)
        # only from the same paragraph, or the paragraph just before ("Only 7% said …");
        # never from one list item to the next, which are separate findings
        near = earlier is not None and (
            earlier[1] == sent.block
            or (
                earlier[1] == sent.block - 1
                and block.kind == "paragraph"
                and article.blocks[earlier[1]].kind == "paragraph"
            )
        )
        if inherit and near and earlier is not None and not _noun_follows(text, end):
            what = earlier[0]
        if what:
            last_what[kind] = (what, sent.block)
        is_finding = _is_finding(finding, sent.start, sentence)
        yield Figure(
            text=text[at:end],
            start=at,
            end=end,
            kind=kind,
            value=value,
            low=low,
            high=high,
            unit=unit,
            what=what,
            sentence=sentence,
            salience=_salience(kind, value, what, is_finding, block.kind, text, end, unit),
        )


def _sections(article: Article) -> list[int]:
    """Per block, a number that changes at each heading or boilerplate block."""
    out, current = [], 0
    for block in article.blocks:
        if block.boilerplate or block.kind == "heading":
            current += 1
        out.append(current)
    return out


def _excluded_spans(text: str) -> list[tuple[int, int]]:
    """URLs, e-mail addresses and phone numbers, whose digits are never figures."""
    spans: list[tuple[int, int]] = []
    for m in _DIGIT_TRIGGER.finditer(text):  # phone numbers: tried only where digits are
        phone = _PHONE.match(text, max(0, m.start() - 1)) if m.end() - m.start() >= 2 else None
        if phone:
            spans.append((phone.start(), phone.end()))
    if "://" in text or "www." in text:
        spans += [(m.start(), m.end()) for m in _URL.finditer(text)]
    at = text.find("@")
    while at != -1:  # look around each "@" only: scanning the text for e-mails is slow
        user = _EMAIL_USER.search(text, max(0, at - 64), at)
        host = _EMAIL_HOST.match(text, at + 1)
        if user and host:
            spans.append((user.start(), host.end()))
        at = text.find("@", at + 1)
    return sorted(spans)


def _triggers(text: str, low: str = "") -> list[int]:
    """Where a figure may start; `low`: the text lower-cased, when the caller has it."""
    positions = [m.start() for m in _DIGIT_TRIGGER.finditer(text)]
    low = low or text.lower()
    if len(low) != len(text):  # a character whose lower case is longer: offsets would shift
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    for m in _WORD_TRIGGER.finditer(low):
        at = m.start()
        if not (at and low[at - 1].isalpha()):
            positions.append(at)
    positions.sort()
    return positions


def _interpret(
    m: re.Match[str], text: str
) -> tuple[str, float | None, float | None, float | None, str] | None:
    before = text[max(0, m.start() - 40) : m.start()]
    after = text[m.end() : m.end() + 20]
    g = m.groupdict()
    branch = m.lastgroup
    if branch == "money":
        value = _number(g["mnum"]) * _MULTIPLIERS.get((g["mmult"] or "").lower(), 1)
        return "money", value, None, None, _CURRENCIES[g["cur"]]
    if branch == "range":
        lo, hi = g["lo"], g["hi"]
        if _YEAR.match(lo) and (len(hi) == 2 or _YEAR.match(hi)):
            return None  # a period: 2023-24, 2018-21, 2018 to 2021
        if _last_word(before) in _REFERENCE_WORDS or _DATE_AFTER.match(after):
            return None
        unit = "%" if g["rpct"] else ""
        return "range", None, _number(lo), _number(hi), unit
    if branch == "percent":
        return "percent", _number(g["pnum"]), None, None, "%"
    if branch == "ratio":
        num, den = _any_number(g["rnum"]), _any_number(g["rden"])
        if num is None or den is None or not 0 < num <= den <= 1000:
            return None
        return "ratio", num / den, None, None, ""
    if branch == "fraction":
        whole = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "nine": 9}
        count = whole.get((g["fnum"] or "a").lower(), 1)
        if g["fden"].lower() in ("half", "halves") and before.rstrip().endswith(" be"):
            return None
        return "fraction", count * _FRACTIONS[g["fden"].lower()], None, None, ""
    if branch == "multiple":
        times = g["mtimes"]
        return "multiple", 2.0 if times is None else _any_number(times), None, None, "times"
    if branch == "number":
        raw = g["nnum"]
        if (_YEAR.match(raw) and not g["nmult"]) or _PERIOD_AFTER.match(after):
            return None
        last = _last_word(before)
        if last in _REFERENCE_WORDS or last in _MONTH_WORDS or _ORDINAL_AFTER.match(after):
            return None
        if _DATE_AFTER.match(after) or _TIME_AFTER.match(after):
            return None
        if after[:1].isalpha() and after[:1].isascii() and not g["nmult"]:
            return None  # glued to letters: A1, 16C, 3G
        if _GLUED_BEFORE.search(before):
            return None  # Covid-19, M25, the (1) of section 16C(1)
        value = _number(raw) * _MULTIPLIERS.get((g["nmult"] or "").lower(), 1)
        return ("decimal" if "." in raw else "count"), value, None, None, ""
    word = g["wnum"]
    if word.lower() == "one" and not (_BOUNDED_ONE.search(before) or _ONE_AFTER.match(after)):
        return None
    if _NO_ONE_BEFORE.search(before) and word.lower() == "one":
        return None
    return "count", _any_number(word), None, None, ""


def _last_word(before: str) -> str:
    """The word just before a number, lower-cased ("section" in "section 47")."""
    tail = before[-14:].rstrip()
    cut = max(tail.rfind(" "), tail.rfind("\n"), tail.rfind("("))
    return tail[cut + 1 :].lower()


def _number(raw: str) -> float:
    return float(raw.replace(",", ""))


def _any_number(raw: str) -> float | None:
    raw = raw.strip().lower()
    if raw[:1].isdigit():
        return _number(raw)
    total, current = 0.0, 0.0
    for part in _NUMBER_WORD_SPLIT.split(raw):
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


# A clause before the figure with one of these in it is narrative, not a name for the figure.
_AGE = re.compile(r"-(year|month|week|day)s?-old\b", re.IGNORECASE)
_COMPARISON = re.compile(
    r"\s*(?:as\b|more\b|less\b|higher\b|lower\b|greater\b|larger\b|the\b|likelier\b)",
    re.IGNORECASE,
)
_VERBISH = frozenset("has have had is are was were be been risen rose fell grown increased".split())
_WHAT_TOKENS = re.compile(r"[\w’'/-]+|[^\w\s]")
_WHAT_WORD = re.compile(r"[\w’'/-]+")


def _what(text: str, start: int, end: int, s_start: int, s_end: int, kind: str) -> str:
    """What the figure measures: the noun phrase after it ("of respondents", "rapid reviews"),
    else the phrase before it ("average spend on EHE services")."""
    after = text[end : min(s_end, end + 90)]
    words = _WHAT_TOKENS.findall(after)
    phrase: list[str] = []
    if words and words[0].lower() == "of":
        phrase.append("of")
        words = words[1:]
        if words and words[0].lower() in ("the", "all", "these", "those"):
            phrase.append(words[0])
            words = words[1:]
    for w in words:
        if not _WHAT_WORD.fullmatch(w) or w.lower() in _STOP_WHAT or len(phrase) >= 6:
            break
        if phrase and phrase[-1] != "of" and _PAST_TENSE.fullmatch(w):
            break  # "respondents believed": the verb ends the noun phrase
        phrase.append(w.lstrip("-"))
    if phrase and phrase[-1].lower() not in ("of", "the", "all", "these", "those"):
        return " ".join(phrase)
    # "an open case (35%)": the case is the what
    before = text[max(s_start, start - 120) : start].rstrip(" (")
    clause = _CLAUSE_BREAK.split(before)[-1]
    tokens = [t for t in _WHAT_BEFORE_WORD.findall(clause)]
    _strip_trailing(tokens)
    while tokens and tokens[-1].lower() in _VERBISH:  # "average spend … was £86,211"
        tokens.pop()
    _strip_trailing(tokens)
    verbs = [n for n, t in enumerate(tokens) if t.lower() in _VERBISH]
    if verbs:
        # a whole clause ("… was known … as an open case"): keep only its last noun run
        run: list[str] = []
        for t in reversed(tokens[verbs[-1] + 1 :]):
            if t.lower() in _STOP_WHAT:
                break
            run.insert(0, t)
        tokens = run
    if tokens and all(t.lower().endswith("ly") for t in tokens):
        return ""  # "or previously (42%)": an adverb names nothing
    if [t.lower() for t in tokens if t.lower() not in ("the", "a")] in ([], ["number"], ["total"]):
        return ""
    return " ".join(tokens[-6:])


def _strip_trailing(tokens: list[str]) -> None:
    while tokens and tokens[-1].lower() in _STOP_WHAT | {
        "of",
        "about",
        "almost",
        "nearly",
        "around",
        "over",
        "just",
        "some",
        "from",
        "whom",
    }:
        tokens.pop()


def _noun_follows(text: str, end: int) -> bool:
    word = _NEXT_WORD.match(text, end, end + 30)
    if not word:
        return False
    return word.group(1).lower() not in _STOP_WHAT and not word.group(1).endswith("ing")


def _is_finding(cache: dict[int, bool], start: int, sentence: str) -> bool:
    if start not in cache:
        cache[start] = bool(_FINDING.search(sentence))
    return cache[start]


def _salience(
    kind: str,
    value: float | None,
    what: str,
    finding: bool,
    block_kind: str,
    text: str,
    end: int,
    unit: str = "",
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
    if finding:
        score += 0.2
    if block_kind == "list_item":
        score += 0.1
    if value is not None and value >= 100 and kind in ("count", "money"):
        score += 0.1
    narrative = unit in ("years", "months", "weeks", "days") or (
        kind == "multiple" and not _COMPARISON.match(text, end)  # "moved twice": a frequency
    )
    if narrative or _NARRATIVE.search(text[end : end + 12]) or _NARRATIVE.search(what):
        score -= 0.35  # ages, durations, frequencies, word counts: narrative, not findings
    return round(min(1.0, max(0.0, score)), 2)
