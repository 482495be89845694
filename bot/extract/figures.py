"""Key figures: amounts stated in digits or words, with their claim, what they measure,
their change, whether they are a finding (core), and their sentence.

Not figures: dates, years, periods and financial years (2023-24, 2007/8), times, legal and
reference numbers (section 47, written question 48217, footnote marks), ordinals, list
enumerators, phone numbers, numbers inside URLs, e-mail addresses or names (Article 39,
No 10 Downing Street, Covid-19), ages ("six-year-old", "aged 12 to 16", "Carver, 27,"),
durations ("for ten years", "a three-week inspection"), compounds ("the two-child limit"),
donation asks ("donate £20"), frequencies ("moved area twice"), and a bare "one" (a pronoun
far more often than an amount) unless it is bounded or compared: "at least one", "one in five".
Narrative numbers stay figures but not core: sample sizes, denominators, response rates,
targets and caps, thresholds that define a group, counts of recommendations, story details.

Hand-written rules: quantulum3 and spaCy's number entities score lower on this text (see
bench/extract_eval.py) and spaCy needs a model download.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
from collections.abc import Iterator

from bot.extract.claims import describe
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
  | (?P<ratio>(?P<rnum>\d{{1,3}})\s+in\s+(?:every\s+)?(?P<rden>\d{{1,3}}|{_WORDNUM})\b(?![-–]))
  | (?P<multiple>(?P<mtimes>{_NUM})\s+times\b)
  | (?P<number>(?<![\w.,/-])(?P<nnum>{_NUM})(?:\s?(?P<nmult>bn|billion|million|m|k)\b)?)
    """,
    re.VERBOSE | re.IGNORECASE,
)
_WORD_PATTERN = re.compile(
    rf"""
    (?P<wpercent>\b(?P<wpnum>{_WORDNUM})[\s-]?(?:per\s?cent|percent)\b)
  | (?P<doubling>\b(?P<dword>doubled|double|trebled|treble|tripled|triple|quadrupled|halved)\b(?!-))
  | (?P<ratio>\b(?P<rnum>{_WORDNUM})\s+in\s+(?:every\s+)?(?P<rden>\d{{1,3}}|{_WORDNUM})\b(?![-–]))
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
    "pages p. tier category step phase grade band route act figure fig. table chart graph "
    "map box".split()
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
# "one in five", "one in every 20"; not "treated as one in the strategy"
_ONE_AFTER = re.compile(
    rf"^\s+(?:or more|in\s+(?:every\s+)?(?:\d|(?:{_WORDNUM})\b))", re.IGNORECASE
)
_FINDING_WORDS = frozenset(
    "found find finds revealed showed shows show analysis analyses analysed data survey poll "
    "recorded received review reviews report study studies according figures rate incidents "
    "cases respondents children families".split()
)
_LETTERS = re.compile(r"[a-z]+")
# a sentence reporting a result, for small counts ("the review found three of …")
_STRICT_FINDING = re.compile(
    r"\b(?:found|finds|show|shows|showed|revealed|reveals|figures|data|survey|analysis|"
    r"according|statistics)\b",
    re.IGNORECASE,
)


# Where a figure can start: a digit, a currency sign, a number or fraction word. The full
# pattern is tried only there: scanning every position with it is four times slower.
_DIGIT_TRIGGER = re.compile(r"[£$€\d][\d,.]*")  # one hit per numeric token
_DIGIT_STARTS = frozenset("£$€0123456789")
_TRIGGER_WORDS = sorted(
    # scale words ("hundred") only ever follow another number word, which triggers first
    set(re.findall(r"[a-z]+", _WORDNUM + " " + _FRACTION_WORDS))
    - {"s", "or", "in", "hundred", "thousand", "million", "billion", "per", "cent", "percent"}
    | {
        "twice",
        "double",
        "doubled",
        "treble",
        "trebled",
        "triple",
        "tripled",
        "quadrupled",
        "halved",
    },
    key=len,
    reverse=True,
)
# on lower-cased text, factored by first letter: the regex engine scans that fastest
_WORD_TRIGGER = re.compile(alternation(_TRIGGER_WORDS) + rf"|a(?=[- ]{_FRACTION_WORDS})")


_GLUED_BEFORE = re.compile(r"[A-Za-z]-?$|\w\($")
_NO_ONE_BEFORE = re.compile(r"\b(?:no|any|every|some)\s*$", re.IGNORECASE)
_NUMBER_WORD_SPLIT = re.compile(r"[\s-]+")
# "fees ranged from £6,000 to £41,000" is one range; any other "from X to Y" is a change
_RANGE_VERB = re.compile(r"\b(?:ranged?|ranging|ran|varied|varies|vary|varying)\s+from\s*$")
_BASELINE_BEFORE = re.compile(
    r"\b(?:from|compared with|compared to|(?<!more )(?<!less )(?<!fewer )than)\s+"
    r"(?:around\s+|about\s+|just\s+)?[£$€]?\s*$"
)
_MONEY_TO = re.compile(
    rf"\s?(?:-|–|to|and)\s?[£$€]\s?(?P<hnum>{_NUM})(?:\s?(?P<hmult>bn|billion|m|million|k)\b)?"
)
_AGE_BEFORE = re.compile(
    r"\b(?:aged|ages|age of|as young as|as old as|under the age of|over the age of)\s+"
    r"(?:between\s+(?:\w+\s+and\s+)?|under\s+|over\s+|up to\s+|\w+\s+(?:to|and|or)\s+)?$"
    r"|\b(?:turning|turned|reaching|reached|left care at|at the age of)\s+$"
    r"|\baged\b[^.;]{0,30}\b(?:or|and)\s+(?:up to|under|over)\s+$"
    r"|\bin age from\s+(?:under\s+|over\s+)?(?:\w+\s+to\s+)?$"
    r"|\b(?:children|pupils|babies|infants|people|those|kids|boys|girls)\s+(?:under|over)\s+$",
    re.IGNORECASE,
)
_AGE_AFTER = re.compile(
    r"^(?:-|\s)?(?:years?|months?)[- ]olds?\b|^\s+(?:or|and)\s+(?:under|younger|over|older)\b",
    re.IGNORECASE,
)
# "Liam Carver, 27, of …", "whose daughter, 14, has …"
_NAME_AGE = re.compile(
    r"(?:[A-Z][a-z]+|son|daughter|child|boy|girl|grandson|granddaughter|brother|sister|"
    r"mother|father|mum|dad|partner|wife|husband|man|woman|teenager),\s$"
)
_DURATION_AFTER = re.compile(
    r"^(?:\s+(?:or|to|and)\s+[\w-]+)?(?:\s+(?!(?:a|an|per|each|every|last|this|next|the|"
    r"that|of|in|a)\b)[a-z]+)?[\s-]?"
    r"(?:years?|months?|weeks?|days?|hours?|minutes?|decades?|nights?)(?:[’']s?)?\b",
    re.IGNORECASE,
)
_STAT_BEFORE = re.compile(
    r"\b(?:average|median|mean|typical|risen to|rose to|grown to|fell to|fallen to)\b",
    re.IGNORECASE,
)
_COMPOUND_AFTER = re.compile(r"^-[a-z]")
_LONG_REFERENCE = re.compile(r"\d{5,}")
_SLASH_YEAR = re.compile(r"^/\d")
_DONATE_BEFORE = re.compile(
    r"\b(?:donate|donating|give|giving|gift of|pledge)\s+(?:just\s+|only\s+)?$", re.IGNORECASE
)
_METHOD_BEFORE = re.compile(
    r"\b(?:based on|analysis of|analysed|analysing|examined|examining|surveyed|survey of|"
    r"poll of|interviewed|interviews with|sample of|data from|returns from|responses from|"
    r"records of|drawn from|draws on|reviewed|questioned|consulted|covering|from a total of|"
    r"ballot of|balloted|turnout of|read all|read|requests to|looked at|asked|examines|"
    r"looks at)"
    # the words between are the sample's, not a finding's ("analysis of spending estimates
    # that £1.8bn …" reports a finding)
    r"\s+(?:the\s+)?(?:(?!(?:that|found|finds|shows?|showed|estimates?|suggests?|reveals?|"
    r"revealed)\s)[\w’'-]+\s+){0,4}$",
    re.IGNORECASE,
)
_POLICY_BEFORE = re.compile(
    r"\b(?:response rate|turnout|margin of error|target|cap|limit|ratio|threshold|"
    r"benchmark|maximum|minimum)\s+(?:of|was|is|at|stood at|set at)\s+(?:around\s+|about\s+)?"
    r"[£$€]?$|\bset at\s+$|\bagainst (?:the|a)\s+$|\bregards as\s+$|\d:$"
    r"|\b(?:incomes?|earnings|salar(?:y|ies))\s+(?:of\s+)?(?:below|under|above|over|"
    r"less than|more than)\s+[£$€]?$",
    re.IGNORECASE,
)
# "nine recommendations", "151 members responded", "the ten largest providers"
_RECOMMENDATIONS_AFTER = re.compile(r"\s+(?:[\w-]+\s+)?recommendations\b")
_METHOD_AFTER = re.compile(
    r"\s+(?:[\w’'-]+\s+){0,2}(?:responded|replied|"
    r"took part|were surveyed|were interviewed|completed the survey)\b|\s+(?:responses|"
    r"respondents)\b|\s+(?:largest|biggest|"
    r"smallest|most|top|worst|best|highest|lowest)\b",
    re.IGNORECASE,
)
_OF_WHOLE = re.compile(r"\bof (?:their|its|his|her|the)\b")
_POLICY_KEYS = (
    "rate",
    "turnout",
    "margin",
    "target",
    "cap",
    "limit",
    "ratio",
    "threshold",
    "benchmark",
    "maximum",
    "minimum",
    "set at",
    "against",
    "regards",
    ":",
    "income",
    "earning",
    "salar",
)
_DENOMINATOR_ENDS = ("all", "of the", "Of the", "’s", "'s")
_DENOMINATOR_BEFORE = re.compile(r"(?:\ball|\b[Oo]f the|\bof [A-Z]\w*[’']s)\s+$")
_PART_OF_AFTER = re.compile(r"\s+of\s+(?:the|its|their|those|them|these|[A-Z][\w’']*)\b")
# "only six led to a meeting", "as many as four different social workers": a count that
# is the point of its sentence
_POINTED_BEFORE = re.compile(r"\b(?:only|just|as many as|no fewer than|as few as)\s+$")
_POINTED_AFTER = re.compile(r"\s+different\b")
_CURRENCY_SIGN = re.compile(r"[£$€]")
_STORY_MONEY = re.compile(
    r"\b(?:court|jailed|sentenced|police recovered|cash(?! terms)|debt|robbed|street value|"
    r"paid as little|prosecutor|stolen|fraud)\b",
    re.IGNORECASE,
)
# Cheap first tests: the patterns above end in "$" and would be tried at every position.
_BASELINE_HINT = re.compile(r"from|than|compared")
_METHOD_KEYS = (
    "based",
    "analys",
    "examin",
    "survey",
    "poll",
    "interview",
    "sample",
    "data",
    "returns",
    "responses",
    "records",
    "drawn",
    "draws",
    "review",
    "question",
    "consult",
    "cover",
    "total",
    "ballot",
    "turnout",
    "read",
    "requests",
)
_AGE_KEYS = ("age", "young", "old", "turn", "reach", "care at", "under", "over")
_DONATE_KEYS = ("donat", "giv", "gift", "pledge")
# a sentence that tells a story rather than reports a statistic
_STORY_COUNT = re.compile(
    r"\b(?:who has|who have|his|her|my|our own|court|jailed|groomed|fostered|cared for)\b",
    re.IGNORECASE,
)


# Longer than any sentence a reporter writes; past it, a figure reads _REACH characters of
# its sentence on either side.
_LONGEST_SENTENCE = 2000
_REACH = 400


def find_figures(article: Article, title: str = "") -> Iterator[Figure]:
    text = article.text
    excluded = _excluded_spans(text)
    excluded_starts = [s for s, _ in excluded]
    sentence_starts = [s.start for s in article.sentences]
    finding: dict[int, bool] = {}  # sentence start -> does it report a finding?
    title_low = title.lower()
    seen_in_title: set[str] = set()  # a headline figure is boosted at its first mention only
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
        before = text[max(sent.start, at - 60) : at]
        from_before = before.rstrip().endswith("from") and not _RANGE_VERB.search(before)
        if kind == "range" and _YEAR.match(m.group("lo")) and not _YEAR.match(m.group("hi")):
            pos = m.start("hi")  # "from 640 in 2021 to 1,015": 2021 is a year, 1,015 a figure
            continue
        if kind == "range" and from_before:
            # "rose from 212 to 247": a baseline and a new value, two figures
            m = pattern.match(text, at, m.end("lo"))
            parsed = _interpret(m, text) if m else None
            if m is None or parsed is None:
                continue
            kind, value, low, high, unit = parsed
            end = pos = m.end()
        elif kind == "money":
            upper = _MONEY_TO.match(text, end, sent.end)
            if upper and not from_before:
                # "£13.9bn to £18.6bn", "between £180 and £260": one range
                mult = _MULTIPLIERS.get((upper.group("hmult") or m.group("mmult") or "").lower(), 1)
                low, high = value, _number(upper.group("hnum")) * mult
                kind, value, end = "range", value, upper.end()
                pos = end
        if _not_an_amount(text, at, end, kind, m.lastgroup or ""):
            continue
        s_lo, s_hi = sent.start, sent.end
        if s_hi - s_lo > _LONGEST_SENTENCE:
            # a "sentence" of thousands of figures (no full stop between them) would be
            # copied and read again for each: its figures get a window of it instead
            s_lo, s_hi = max(s_lo, at - _REACH), min(s_hi, end + _REACH)
        sentence = text[s_lo:s_hi]
        is_baseline = (
            kind != "range"
            and _BASELINE_HINT.search(before, max(0, len(before) - 30)) is not None
            and bool(_BASELINE_BEFORE.search(before))
        )
        said = describe(sentence, at - s_lo, end - s_lo, baseline_figure=is_baseline)
        quoted = _inside_quote(sentence, at - s_lo)
        core = _core(
            kind,
            value,
            unit,
            sentence,
            before,
            text[end : min(s_hi, end + 60)],
            quoted=quoted,
            changed=bool(said.change),
        )
        salience = _salience(
            kind=kind,
            core=core,
            finding=_is_finding(finding, s_lo, sentence),
            headline=_first_in_title(text[at:end], kind, value, title_low, seen_in_title),
            quoted=quoted,
            place=k / max(1, len(article.sentences)),
            baseline=is_baseline,
            listed=block.kind == "list_item",
            value=value,
        )
        yield Figure(
            text=text[at:end],
            start=at,
            end=end,
            kind=kind,
            value=value if kind != "range" else None,
            low=low,
            high=high,
            unit=unit,
            what=said.what,
            sentence=sentence,
            salience=salience,
            claim=said.claim,
            core=core,
            change=said.change,
            baseline=said.baseline,
        )


def _excluded_spans(text: str) -> list[tuple[int, int]]:
    """URLs, e-mail addresses and phone numbers, whose digits are never figures."""
    spans: list[tuple[int, int]] = []
    for m in _DIGIT_TRIGGER.finditer(text):  # phone numbers: tried only where digits are
        phone = _PHONE.match(text, m.start()) if m.end() - m.start() >= 2 else None
        if phone is None and m.start() and text[m.start() - 1] == "+":
            phone = _PHONE.match(text, m.start() - 1)
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
    if branch == "wpercent":
        return "percent", _any_number(g["wpnum"]), None, None, "%"
    if branch == "doubling":
        factor = {"double": 2.0, "doubled": 2.0, "halved": 0.5, "quadrupled": 4.0}
        return "multiple", factor.get(g["dword"].lower(), 3.0), None, None, "times"
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


_COMPARISON = re.compile(
    r"\s*(?:as\b|more\b|less\b|higher\b|lower\b|greater\b|larger\b|the\b|likelier\b|"
    r"what\b|that\b|than\b)",
    re.IGNORECASE,
)


def _is_finding(cache: dict[int, bool], start: int, sentence: str) -> bool:
    if start not in cache:
        cache[start] = not _FINDING_WORDS.isdisjoint(_LETTERS.findall(sentence.lower()))
    return cache[start]


def _salience(
    *,
    kind: str,
    core: bool,
    finding: bool,
    headline: bool,
    place: float,
    baseline: bool,
    listed: bool,
    value: float | None,
    quoted: bool = False,
) -> float:
    """0..1, continuous: the article's findings first (a figure in the headline or
    standfirst, then statistics in sentences that report a finding, earlier ones first),
    then context; baselines ("up from 447") below the figure they compare with."""
    score = {
        "percent": 0.5,
        "ratio": 0.5,
        "fraction": 0.48,
        "multiple": 0.46,
        "money": 0.45,
        "range": 0.35,
        "count": 0.38,
        "decimal": 0.38,
    }.get(kind, 0.3)
    score += 0.25 * headline + 0.12 * finding + 0.05 * listed
    score += 0.12 * (1.0 - min(1.0, place))  # news puts its findings first
    if baseline:
        score -= 0.15
    if quoted:
        score -= 0.08
    if not core:
        score -= 0.35
    if value is not None and value > 0:
        score += min(0.02, math.log10(value + 1) / 500)  # a tie-break, never a rank
    return round(min(1.0, max(0.0, score)), 4)


def _first_in_title(
    figure: str, kind: str, value: float | None, title: str, seen: set[str]
) -> bool:
    if figure.lower() in seen or not _in_title(figure, kind, value, title):
        return False
    seen.add(figure.lower())
    return True


def _inside_quote(sentence: str, at: int) -> bool:
    """Is the figure in quoted speech? (the reporter's own findings rank above it)"""
    head = sentence[:at]
    opened = head.count("“") + head.count("‘")
    closed = head.count("”") + head.count("’ ") + head.count("’,")
    if opened:
        return opened > closed
    return "”" in sentence[at:] or sentence.rstrip().endswith("’")


def _in_title(figure: str, kind: str, value: float | None, title: str) -> bool:
    """Is the figure repeated in the headline or standfirst (as written or as a number)?"""
    if not title:
        return False
    if figure.lower() in title:
        return True
    if kind == "percent" and value is not None:
        whole = f"{value:g}"
        return f"{whole}%" in title or f"{whole} per cent" in title
    return False


def _core(
    kind: str,
    value: float | None,
    unit: str,
    sentence: str,
    before: str,
    after: str,
    *,
    quoted: bool = False,
    changed: bool = False,
) -> bool:
    """A statistic the article reports, not a narrative or method number: a sample size or
    denominator ("based on 54 reviews", "all 153 councils", "Of the 536 reviews"), a
    response rate or turnout, a target or cap ("a target of 18"), a threshold that defines a
    group ("missed at least 10% of their sessions"), a count of recommendations, or a
    small count in a story ("three homes", "two social workers"), a count someone tells in
    their own words ("I was holding 30 cases"), a distance ("50 miles from home"), or what an
    institution does or sets ("has set up 18 attendance hubs", "capping caseloads at 18")."""
    if kind == "count" and (
        (quoted and _FIRST_PERSON.search(sentence)) or _DISTANCE_AFTER.match(after)
    ):
        return False
    if kind in ("count", "money") and _ACTION_BEFORE.search(before[-50:]):
        return False
    tail = before[-40:]
    low_tail = tail.lower()
    if (any(k in low_tail for k in _POLICY_KEYS) and _POLICY_BEFORE.search(tail)) or (
        _METHOD_AFTER.match(after)
    ):
        return False
    if kind == "count" and _RECOMMENDATIONS_AFTER.match(after):
        return False  # "nine recommendations"; not "58% made recommendations"
    if (before.endswith("at least ") or after.startswith(" or more")) and _OF_WHOLE.search(
        after[:30]
    ):
        return False  # a definition: "pupils who miss at least 10% of their sessions"
    if kind in ("percent", "ratio", "fraction", "multiple", "decimal"):
        return True
    low_before = before.lower()
    if any(k in low_before for k in _METHOD_KEYS) and _METHOD_BEFORE.search(before):
        return False
    part_of = kind == "count" and _PART_OF_AFTER.match(after) is not None
    if (
        not part_of  # "all nine of the review’s recommendations" is a count, not a whole
        and before.rstrip().endswith(_DENOMINATOR_ENDS)
        and _DENOMINATOR_BEFORE.search(before[-20:])
    ):
        return False
    if kind == "range":
        return unit == "%" or _CURRENCY_SIGN.search(sentence) is not None
    if kind == "money":
        return not _story(sentence, _STORY_MONEY)
    if value is None:
        return False
    if _OWN_BEFORE.search(before[-30:]) or _STORY_BEFORE.search(before[-60:]):
        return False  # "through its 48 family centres", "who has fostered 19 children"
    if _SUBSET_BEFORE.search(before[-10:]) and _SUBSET_AFTER.match(after):
        return False  # "In the 64 councils that shared data": the group a finding is about
    if part_of or changed:
        return True  # "three of the five contacts", "fell from 14 to five"
    if _POINTED_BEFORE.search(before[-16:]) or _POINTED_AFTER.match(after):
        return True
    if value >= 10:
        return True
    return _story(sentence, _STRICT_FINDING) and not _story(sentence, _STORY_COUNT)


# a body's own inventory ("its 48 family centres", "Waymark’s 22 projects"), not a finding
# ("six of its ten posts", "half of the borough’s 188 care leavers" are the whole of a share)
_OWN_BEFORE = re.compile(r"(?<!\bof )(?<!\bof the )(?:\b(?:its|their|our)|\b[\w-]+[’']s)\s+$")
_STORY_BEFORE = re.compile(r"\bwho\s+(?:has|have|had)\s+(?:\w+\s+){1,2}$")
_SUBSET_BEFORE = re.compile(r"\b[Ii]n the\s+$")
_SUBSET_AFTER = re.compile(r"^\s+(?:[\w-]+\s+){1,3}(?:that|which|who|where)\b")
_FIRST_PERSON = re.compile(r"\b(?:I|I’m|I'm|I’d|I'd|I’ve|I've|my|me)\b")
_DISTANCE_AFTER = re.compile(r"^\s?(?:miles?|km|kilomet(?:re|er)s?|metres?|meters?|yards?)\b")
# an institution acting or setting a level, not a finding:
# "has set up 18 attendance hubs", "capping caseloads at 18", "raised to £5,000", "enough to
# fund around 1,500", "will pay for 16 youth workers", "increased its workforce by 12 posts"
_ACTION_BEFORE = re.compile(
    r"\b(?:set up|will pay for|"
    r"enough to (?:fund|pay for|employ)|(?:capping|capped|cap)\s+[\w’' -]{0,30}\bat|"
    r"raised to|increased (?:its|their|the)\s+[\w’' -]{0,30}\bby|plans to fine \w+|"
    r"(?:to|would) fine \w+)\s+"
    r"(?:around\s+|about\s+|some\s+|up to\s+|an? extra\s+|another\s+)?[£$€]?$",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=256)
def _story(sentence: str, pattern: re.Pattern[str]) -> bool:
    """pattern.search(sentence), once per sentence: its figures ask the same question."""
    return pattern.search(sentence) is not None


# ages said without "aged": "since they were three and six", "was 11 when he was referred",
# "whose son, now 17,", "remain with their foster carers after 18", "was under 14."
_WHEN_AGED = re.compile(
    r"\b(?:since|when|until|till|because|as)\s+(?:he|she|they|I|we|you|[A-Z][a-z]+)\s+"
    r"(?:was|were|turned|turns|is|are)\s+(?:\w+\s+(?:and|or)\s+)?$"
)
_WAS_BEFORE = re.compile(r"\b(?:was|were|is|are)\s+$")
_WHEN_AFTER = re.compile(r"^(?:\s+(?:and|or)\s+\w+)?\s+(?:when|at the time)\b")
_BOUND_BEFORE = re.compile(r"\b(?:under|after|until|beyond|past|before turning)\s+$")
_CLAUSE_END = re.compile(r"^\s*(?:[,.;:)]|$)")
# a household's size, not a count: "families with three or more children", "a mother of three"
_HOUSEHOLD = re.compile(r"\b(?:with|having)\s+(?:(?:one|two|three)\s+or\s+)?$", re.IGNORECASE)
_HOUSEHOLD_AFTER = re.compile(
    r"^(?:\s+or\s+(?:more|fewer))?\s+(?:children|kids|siblings|sons|daughters|bedrooms)\b"
)
_PARENT_OF = re.compile(
    r"\b(?:mother|father|mum|dad|parent|grandmother|grandfather|grandparent)\s+of\s+$",
    re.IGNORECASE,
)
_PARENT_OF_AFTER = re.compile(r"^(?:[,.;:)]|\s+(?:from|in|who|and)\b)")
_ORDINAL_FRACTION_AFTER = re.compile(
    r"^\s+(?:or\s+(?:subsequent|later)\b|(?:child|baby|time|term|round|wave|generation)\b)"
)
_DURATION_AND = re.compile(
    r"\b(?:years?|months?|weeks?|days?|hours?|decades?|centur(?:y|ies))\s+and\s+$"
)


def _whole(text: str, start: int, end: int) -> float | None:
    raw = text[start:end]
    value = _any_number(raw) if raw[:1].isalnum() else None
    return value if value is not None and value == int(value) else None


def _teen(text: str, start: int, end: int) -> bool:
    """A whole number between 10 and 25: the ages children's services talk about."""
    value = _whole(text, start, end)
    return value is not None and 10 <= value <= 25


def _small(text: str, start: int, end: int) -> bool:
    value = _whole(text, start, end)
    return value is not None and value <= 10


_RATE_BASE = re.compile(r"\b(?:per|for every|in every|out of every)\s+$", re.IGNORECASE)


def _not_an_amount(text: str, start: int, end: int, kind: str, branch: str) -> bool:
    """Ages, durations, compound adjectives ("two-child limit"), reference numbers,
    financial years, donation asks and frequencies ("moved twice") are not figures."""
    before = text[max(0, start - 40) : start]
    after = text[end : end + 30]
    if before.endswith("/") or _SLASH_YEAR.match(after):
        return True  # 2007/8, 2019/20
    if before.endswith("[") and after.startswith("]"):
        return True  # a footnote mark: "[2]"
    if kind == "count" and _RATE_BASE.search(before[-16:]):
        return True  # "94 per 10,000 children": the base of a rate, not an amount
    aged = (
        _AGE_AFTER.match(after)
        or (after.startswith(",") and _NAME_AGE.search(before))
        or (any(k in before.lower() for k in _AGE_KEYS) and _AGE_BEFORE.search(before))
        or _WHEN_AGED.search(before)
        or (_WAS_BEFORE.search(before) and _WHEN_AFTER.match(after))
        or (before.endswith((", now ", ", then ")) and after.startswith(","))
        or (_BOUND_BEFORE.search(before) and _CLAUSE_END.match(after) and _teen(text, start, end))
    )
    if aged and kind in ("count", "range"):
        return True
    if kind == "count" and (
        (_HOUSEHOLD.search(before) and _HOUSEHOLD_AFTER.match(after) and _small(text, start, end))
        or (_PARENT_OF.search(before) and _PARENT_OF_AFTER.match(after))
    ):
        return True  # "families with three or more children", "a mother of three"
    if kind == "fraction" and (
        _ORDINAL_FRACTION_AFTER.match(after)
        or _DURATION_AFTER.match(after)
        or _DURATION_AND.search(before)
    ):
        return True  # "a third or subsequent child", "two and a half years", "a decade and a half"
    if (
        kind in ("count", "range", "decimal")
        and "£" not in text[start:end]
        and _DURATION_AFTER.match(after)
        and not _STAT_BEFORE.search(before)
    ):
        return True  # "for ten years", "waited 47 weeks"; not "average … grown to 41 minutes"
    if kind == "count" and _COMPOUND_AFTER.match(after):
        return True  # "two-child limit", "45-minute", "20-week deadline"
    if kind == "count" and branch == "number" and _LONG_REFERENCE.fullmatch(text[start:end]):
        return True  # "written question 48217", "(1156620)"
    if (
        kind in ("money", "range")
        and any(k in before.lower() for k in _DONATE_KEYS)
        and _DONATE_BEFORE.search(before)
    ):
        return True
    # "moved area twice": a frequency, not a comparison
    return kind == "multiple" and branch == "multiple" and not _COMPARISON.match(text, end)
