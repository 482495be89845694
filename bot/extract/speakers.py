"""Who is who in an article: people with their roles, organisations, and who published the
report the article is about — so a quote's speaker can be resolved from "Hudson", "she",
"the panel" or "the report" to the name the article gives.

Roles come from any appositive in the article ("panel chair Annie Hudson", "Annie Hudson,
chair of the panel,"), not only from the quote's own tag. A report, survey or finding speaks
for the organisation that published it: the one named as its author ("the Panel's annual
report", "a report by X", "rated inadequate by Ofsted"), else the first organisation named.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from bot.extract.text import alternation
from bot.models import SpeakerKind

# Words that make a capitalised word a title or job, not part of a person's name.
ROLE_WORDS = frozenset(
    "minister secretary chair chairman chairwoman chairperson chief executive director leader "
    "head manager officer member worker visitor caseworker inspector detective sergeant "
    "constable superintendent commissioner president founder co-founder spokesperson spokesman "
    "spokeswoman headteacher headmaster headmistress teacher principal mayor mp mep lead "
    "adviser advisor consultant reviewer scrutineer researcher fellow economist analyst "
    "campaigner parent mother father mum dad grandmother grandfather grandparent carer nurse "
    "doctor barrister solicitor lawyer judge trustee coordinator partner deputy assistant "
    "senior clinical lecturer author editor governor owner volunteer nan grandad opposition "
    "cabinet prosecutor organiser organizer official representative convenor negotiator "
    "steward".split()
)
HONORIFICS = frozenset(
    "dr prof professor cllr councillor mr mrs ms miss sir dame lord lady baroness rev "
    "reverend di dci ds pc".split()
)
# Head nouns of organisations ("Child Safeguarding Practice Review Panel").
ORG_HEADS = frozenset(
    "panel council department trust charity foundation institute network union association "
    "alliance commission committee forum group partnership partnerships service services "
    "agency authority ministry office observatory society centre center federation board "
    "police government nhs university college inspectorate ofsted cafcass court coalition "
    "fund unit team initiative project party parliament executive assembly action academy "
    "school schools hospital clinic church club library company ltd limited plc bank press news "
    "times post chronicle herald courier gazette mirror echo standard".split()
)
SPOKESPEOPLE = frozenset("spokesperson spokesman spokeswoman spokespeople".split())
# What a report-like subject is called: it speaks for its publisher.
REPORT_NOUNS = frozenset(
    "report reports review reviews survey surveys study research analysis findings data "
    "figures paper briefing inquiry evaluation audit statistics guidance plan statement "
    "inspection inspectors researchers authors watchdog".split()
)
_CAP = r"[A-Z][\w’'&-]*"
# A capitalised run, with the small words names carry: "Department for Education",
# "Royal Society of Arts", "Child Safeguarding Practice Review Panel".
_ORG_RUN = re.compile(rf"{_CAP}(?:\s+(?:(?:of|for|and|on|in|the|&)\s+)*{_CAP})*")
# "Annie Hudson", "Rachel de Souza", not a run of more capitalised words ("Fair Access Fund")
_PERSON = re.compile(  # led by a character class, so the engine skips ahead to capitals
    r"([A-Z][a-z]+(?:-[A-Z][a-z]+)?) ((?:(?:de|van|von|der|le|la) )?"
    r"([A-Z][a-z]+(?:-[A-Z][a-z]+)?|O’[A-Z][a-z]+))(?![\w-])(?!\s+(?:(?:de|van|von|der|le|la)\s+)?[A-Z])(?![’']\s+[A-Z])"
)
_APPOSITIVE = re.compile(
    r",\s+((?:the|a|an|its|his|her|their)\s+)?([^,.;:“”‘\"]{3,140}?)(?=,|\.|;|$)"
)
NOT_ROLE = re.compile(
    r"^(?:who|which|whose|whom|from|aged|\d|and|but|said|says|told|when|where)\b", re.IGNORECASE
)
_KINDS_OF_BODY = r"(?:charity|union|think[- ]tank|campaign group|organisation|watchdog|regulator)"
_DESCRIPTOR = rf"(?:{_KINDS_OF_BODY}\s+)?"
# "a report by X", "rated inadequate by Ofsted", "a survey by the charity X": found from
# "by"/"from" before a capital (few places), then the words before it are checked
_BY_NAME = re.compile(rf"(?:by|from)\s+(?:the\s+)?{_DESCRIPTOR}({_ORG_RUN.pattern})")
_PUBLISHED_BY = re.compile(
    r"\b(?:report|review|survey|analysis|research|study|studies|data|figures|findings|"
    r"rated|judged|inspected|published|released|commissioned|produced|conducted|"
    r"carried out|compiled)\s+(?:[\w’'-]+\s+){0,3}?$"
)
# "the charity Care Leavers Forward": a body named by what it is
_DESCRIBED_ORG = re.compile(rf"{_KINDS_OF_BODY}\s+({_ORG_RUN.pattern})")  # first letters lead
_REPORT_NOUN = (
    r"(?:report|review|survey|analysis|research|study|data|figures|findings|guidance|plan|"
    r"statement|briefing|inquiry|evaluation|audit|inspection)\b"
)
# keyword first, so the engine skips ahead to a possessive mark; the name is read backwards
_POSSESSIVE_AT = re.compile(
    rf"[’']s?\s+(?:(?:own|new|latest|annual|first|recent|[a-z]+)\s+)?{_REPORT_NOUN}"
)
_PUBLISHED_AT = re.compile(r"(?:published|released|surveyed|analysed|examined|commissioned)\b")
_ORG_HEAD_SCAN = re.compile(
    rf"(?:{alternation(sorted({h.capitalize() for h in ORG_HEADS} | {'NHS'}))})(?![\w-])"
)
_POSSESSIVE_REPORT = re.compile(
    rf"({_ORG_RUN.pattern})[’']s?\s+(?:(?:own|new|latest|annual|first|recent|\w+)\s+)?"
    rf"{_REPORT_NOUN}"
)


_PARTICLES = frozenset("de van von der le la da di".split())
_OBJECT_BEFORE = (" of ", " for ", " to ", " with ", " by ", " on ", " from ", " as ", " about ")


@dataclass(frozen=True)
class Speaker:
    name: str
    role: str
    kind: SpeakerKind


def split_role(name: str) -> tuple[str, str]:
    """ "Children’s Minister Laura Kendrick" → ("Laura Kendrick", "Children’s Minister"):
    leading capitalised job words are a role, honorifics stay with the name."""
    words = name.split()
    cut = 0
    for i, w in enumerate(words[:-1]):
        low = w.lower().strip(",")
        if low not in HONORIFICS and (low in ROLE_WORDS or low.endswith(("’s", "'s"))):
            cut = i + 1
    rest = words[cut:]
    if len(rest) < 2:
        return name, ""
    return " ".join(rest), " ".join(words[:cut])


def bare_name(name: str) -> str:
    """The name without its honorifics: "Professor Ruth Castellano" → "Ruth Castellano"."""
    words = name.split()
    while len(words) > 1 and words[0].lower().rstrip(".") in HONORIFICS:
        words = words[1:]
    return " ".join(words)


class Cast:
    """The article's people (full name → role, surname → full name, where each is named)
    and organisations, found once per article."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.full: dict[str, str] = {}  # surname (and "First Last") -> full name
        self.roles: dict[str, str] = {}  # full name -> role
        self.mentions: list[tuple[int, str]] = []  # (position, full name), in order
        self._orgs: list[tuple[int, str]] | None = None
        self._acronyms: dict[str, str] | None = None
        self._publisher: str | None = None
        self._described: dict[str, str] = {}  # "charity" -> the body named "the charity X"
        pos = 0
        while (m := _PERSON.search(text, pos)) is not None:
            pos = m.end()
            if m.start() and (text[m.start() - 1].isalnum() or text[m.start() - 1] in "’'-"):
                pos = m.start(2)  # "McDonald Smith" is matched from inside a word: skip it
                continue
            first, full = m.group(1), f"{m.group(1)} {m.group(2)}"
            if first.lower() in ROLE_WORDS or first.lower() in HONORIFICS:
                pos = m.start(2)  # "Minister Laura Kendrick": the name starts at the next word
                continue
            if _is_org_words(full) or first in _NOT_FIRST_NAMES:
                continue
            surname = m.group(3)
            if surname in _NOT_FIRST_NAMES or surname.lower() in ORG_HEADS:
                continue  # "Council for Disabled Children"
            known = self.full.setdefault(surname, full)
            self.full.setdefault(full, known)
            self.mentions.append((m.start(1), known))
            end = m.start(1) + len(full)
            if known not in self.roles or not self.roles[known]:
                role = _role_around(text, m.start(1), end)
                if role:
                    self.roles[known] = role
        surnames = [k for k, v in self.full.items() if " " not in k and k != v]
        if surnames:  # "Smith reiterated …" names Andy Smith again, for a later "he said"
            # led by the names' first letters (no look-behind), so the engine skips ahead
            later = re.compile(rf"(?:{alternation(surnames)})(?![\w-])")
            named = {p + len(n) for p, n in self.mentions}  # where each full mention ends
            self.mentions += [
                (m.start(), self.full[m.group()])
                for m in later.finditer(text)
                if m.end() not in named  # the surname of a full mention is no new mention
                and not (
                    m.start() and (text[m.start() - 1].isalnum() or text[m.start() - 1] in "’'-")
                )
            ]
            self.mentions.sort()
        self._mention_at = [p for p, _ in self.mentions]

    def person(self, name: str, role: str = "") -> Speaker:
        """A person named in a tag: the full name the article gives, the role from anywhere."""
        plain = bare_name(name)
        words = plain.split()
        full = self.full.get(plain)
        if full is None and all(w in _PARTICLES for w in words[:-1]):
            full = self.full.get(words[-1])  # "Souza" of "de Souza"
        if full is None and len(words) == 1:
            full = plain
        full = full or name
        return Speaker(full, role or self.roles.get(full, ""), "person")

    def is_known_surname(self, word: str) -> bool:
        return bare_name(word) in self.full

    def last_person_before(
        self, at: int, spoken: set[str] | frozenset[str] = frozenset()
    ) -> Speaker | None:
        """The person "he" or "she" most likely means: the last one named before `at` as a
        subject or who has spoken (not "the death of Star Hobson")."""
        k = bisect.bisect_left(self._mention_at, at) - 1
        if k < 0:
            return None
        pick = self.mentions[k][1]
        for pos, name in reversed(self.mentions[max(0, k - 8) : k + 1]):
            before = self.text[max(0, pos - 6) : pos].lower()
            if name in spoken or not before.endswith(_OBJECT_BEFORE):
                pick = name  # the last one named as a subject, not "the death of Star Hobson"
                break
        return Speaker(pick, self.roles.get(pick, ""), "person")

    def acronyms(self) -> dict[str, str]:
        """ "Family Law Practitioners Together (FLPT)": FLPT → the name in full."""
        if self._acronyms is None:
            self._acronyms = {}
            for m in _ACRONYM.finditer(self.text):  # the bracket first, then the name before it
                named = _name_before(self.text, m.start())
                if named is not None and named[0]:
                    self._acronyms[m.group(1)] = named[0]
        return self._acronyms

    def orgs(self) -> list[tuple[int, str]]:
        """Organisation names with where they first appear."""
        if self._orgs is None:
            seen: dict[str, int] = {}
            text = self.text
            # from each capitalised head noun ("Panel", "Council"), the capitalised run
            # around it: scanning every capitalised run in the text was the costly way
            for head in _ORG_HEAD_SCAN.finditer(text):
                if head.start() and text[head.start() - 1].isalnum():
                    continue
                first = _run_start(text, head.start())
                right = _ORG_RUN.match(text, head.start())
                run = text[first : max(right.end() if right else 0, head.end())]
                if " " not in run:
                    continue  # one capitalised word ("Council") is never a named body
                name = _trim_org(run)
                if name and _is_org_words(name) and name not in seen:
                    seen[name] = first
            for m in _DESCRIBED_ORG.finditer(self.text):
                name = _trim_org(m.group(1))
                kind = m.group(0)[: m.start(1) - m.start()].split()[0].lower()
                if name:
                    self._described.setdefault(kind, name)  # "the charity X": X is "the charity"
                if name and name not in seen:
                    seen[name] = m.start(1)
            self._orgs = sorted((p, n) for n, p in seen.items())
        return self._orgs

    def org_named(self, head: str) -> str:
        """The organisation the article names with this head noun ("panel" → "Child
        Safeguarding Practice Review Panel"), or "" when it names none."""
        head = head.lower()
        for _, name in self.orgs():
            words = name.lower().split()
            if len(words) > 1 and (words[-1] == head or words[0] == head):
                return name
        self.orgs()
        if head in self._described:
            return self._described[head]
        # "the council's scrutiny committee": a body named in lower case
        m = re.search(
            rf"\bthe [\w-]+[’']s (?:[\w-]+ ){{0,2}}{re.escape(head)}\b", self.text, re.IGNORECASE
        )
        return m.group(0) if m else ""

    def publisher(self) -> str:
        """Who published the report the article is about."""
        if self._publisher is None:
            # the body most often named as the report's author ("the Panel’s report",
            # "reported the Panel", "a report by X"); the first named on a tie
            votes: dict[str, list[int]] = {}
            for name, at in self._authors():
                if name.lower() in ORG_HEADS:  # "the Panel’s annual report"
                    name = self.org_named(name) or name
                if name and not name.islower() and not _is_person_name(name, self):
                    votes.setdefault(name, []).append(at)
            if votes:
                self._publisher = max(votes, key=lambda n: (len(votes[n]), -votes[n][0]))
            else:
                self._publisher = self.orgs()[0][1] if self.orgs() else ""
        return self._publisher

    def _authors(self) -> list[tuple[str, int]]:
        """Bodies named as a report's author: "X’s report", "a report by X", "X published"."""
        text = self.text
        found = [
            (_trim_org(m.group(1)), m.start())
            for m in _BY_NAME.finditer(text)
            if (not m.start() or not text[m.start() - 1].isalnum())
            and _PUBLISHED_BY.search(text, max(0, m.start() - 60), m.start())
        ]
        for pattern in (_POSSESSIVE_AT, _PUBLISHED_AT):
            for m in pattern.finditer(self.text):
                named = _name_before(self.text, m.start())
                if named is not None:
                    found.append(named)
        return found

    def organisation(self, phrase: str, last_org: Speaker | None = None) -> Speaker | None:
        """An organisation or report named by a subject phrase; `last_org` is the body last
        quoted, for "a spokesperson" who names none."""
        phrase = phrase.strip(" ,")
        m = _POSSESSIVE_REPORT.match(phrase)
        if m and _trim_org(m.group(1)):
            name = _trim_org(m.group(1))
            if name.lower() in ORG_HEADS:
                name = self.org_named(name) or name
            if name.lower() not in ("it", "its", "their", "our") and not name.islower():
                return Speaker(name, "", "report")
        words = [w.lower().strip("’'") for w in phrase.split()]
        if not words:
            return None
        head = words[-1]
        spoke = next((w for w in words if w in SPOKESPEOPLE), "")
        if spoke and head not in SPOKESPEOPLE and f"{spoke} for " in phrase.lower():
            # "A spokesperson for Hollinsford Borough Council"
            at = phrase.lower().index(f"{spoke} for ") + len(spoke) + len(" for ")
            body = self.organisation(phrase[at:])
            return Speaker(body.name, spoke, "organisation") if body else None
        if head in SPOKESPEOPLE:  # "A Cafcass spokesperson", "A Government spokesman"
            body = self.organisation(" ".join(phrase.split()[:-1])) if len(words) > 1 else None
            if body is None and len(words) > 1:  # "A DfE spokesperson": the body it names
                caps = [_trim_org(c.group(0)) for c in _ORG_RUN.finditer(phrase)]
                caps = [c for c in caps if c]
                body = Speaker(caps[-1], "", "organisation") if caps else None
            if body is None or body.name.lower() in ("a", "an", "the"):
                body = last_org or (
                    Speaker(self.publisher(), "", "organisation") if self.publisher() else None
                )
            return Speaker(body.name, head, "organisation") if body else None
        # "the panel", "its annual report", "finding the commission": a body the article names
        generic = (
            len(words) <= 4
            and all(w in _GENERIC_WORDS or w == head or w in REPORT_NOUNS for w in words)
        ) or (
            len(words) >= 2 and words[-2] in ("the", "its", "their") and head in _HEADS_AND_REPORTS
        )
        lower_possessive = _LOWER_POSSESSIVE.match(phrase)
        if lower_possessive and lower_possessive.group(1).lower() in ORG_HEADS:
            # "The council’s medium-term financial plan": the council the article names
            named = self.org_named(lower_possessive.group(1))
            if named:
                return Speaker(named, "", "report")
        if generic:
            if head in REPORT_NOUNS:
                name = self.publisher()
                return Speaker(name, "", "report") if name else None
            if head in ORG_HEADS:
                name = self.org_named(head)
                return Speaker(name or _strip_article(phrase), "", "organisation")
            return None
        caps = [m.group(0) for m in _ORG_RUN.finditer(phrase)]
        known = {n for _, n in self.orgs()}
        for cand in reversed(caps):
            name = _trim_org(cand)
            if name and (
                _is_org_words(name) or (name.isupper() and len(name) > 1) or name in known
            ):
                kind: SpeakerKind = "report" if head in REPORT_NOUNS else "organisation"
                return Speaker(self.acronyms().get(name, name), "", kind)
        if head in ORG_HEADS or head in REPORT_NOUNS:
            return Speaker(_strip_article(phrase), "", "organisation")
        return None


_GENERIC_WORDS = frozenset("the a an its their this our new latest annual own full final".split())
_HEADS_AND_REPORTS = ORG_HEADS | REPORT_NOUNS
_LOWER_POSSESSIVE = re.compile(r"(?:the\s+)?([a-z]+)[’']s\s", re.IGNORECASE)
_ACRONYM = re.compile(r"\(([A-Z][A-Za-z]{1,7})\)")
_NOT_FIRST_NAMES = frozenset(
    "The A An In On At Its Their His Her This That These Those But And Central Great Local "
    "National Education Children Child Social Home Chief Executive President Director Sector "
    "Association Department Race Labour Tory Tories Crown High Royal North South East West "
    "New Old Young Family Safeguarding Practice Review Public Health Care Mental Police "
    "Borough City County District Town Primary Secondary Special Youth Justice Early Help "
    "Our We Ofsted Government Court Street Road Lane Hall Disabled Adults Families Young "
    "People Minister Services Council Parents Schools Rights Office".split()
)


def possessive_report(subject: str) -> bool:
    """Does the phrase open with a body's report ("The Trust’s review of …", "The council’s
    financial plan")?"""
    if _POSSESSIVE_REPORT.match(subject):
        return True
    m = _LOWER_POSSESSIVE.match(subject)
    if not (m and m.group(1).lower() in ORG_HEADS):
        return False
    # a report of the body's ("the council’s financial plan"), not its people ("the
    # society’s president, Priya Raman")
    head = [w.strip(",").lower() for w in subject[m.end() :].split()[:3]]
    return any(w in REPORT_NOUNS for w in head)


def _name_before(text: str, end: int) -> tuple[str, int] | None:
    """The capitalised name ending just before `end` ("the Panel’s report", "The Trust has
    published"), with where it starts; None when a lower-case word stands there."""
    while end > 0 and text[end - 1] == " ":
        end -= 1
    for aux in ("has", "have"):
        if text.endswith(aux, 0, end) and text[end - len(aux) - 1 : end - len(aux)] == " ":
            end -= len(aux) + 1
            break
    last = text.rfind(" ", max(0, end - 40), end) + 1
    if not text[last : last + 1].isupper():
        return None
    first = _run_start(text, last)
    return _trim_org(text[first:end]), first


def _run_start(text: str, at: int) -> int:
    """Where the capitalised run ending in the word at `at` starts, walking back word by
    word over capitalised words and the small words names carry ("Department for")."""
    start = at
    pos = at
    while pos > 0:
        space = text.rfind(" ", max(0, pos - 30), pos - 1)
        if space < 0 or text[pos - 1] != " ":
            break
        word = text[space + 1 : pos - 1]
        if word[:1].isupper() and word[-1:].isalpha():
            start = space + 1
        elif word not in _RUN_SMALL_WORDS:
            break
        pos = space + 1
    return start


_RUN_SMALL_WORDS = frozenset(("of", "for", "and", "on", "in", "the", "&"))


def _is_org_words(name: str) -> bool:
    """Two or more words, one of them an organisation's head noun ("Harwick Police")."""
    words = name.split()
    return len(words) > 1 and any(w.lower().removesuffix("’s") in ORG_HEADS for w in words)


def _is_person_name(name: str, cast: Cast) -> bool:
    return bare_name(name) in cast.full


def _trim_org(name: str) -> str:
    words = name.split()
    while words and (
        words[0].lower() in ("the", "a", "an", "and", "of", "for", "in", "on")
        or words[0] in _SENTENCE_OPENERS
    ):
        words = words[1:]
    while words and words[-1].lower() in ("the", "and", "of", "for", "in", "on", "&"):
        words = words[:-1]
    if words and words[-1].endswith(("’s", "'s")):
        words[-1] = words[-1][:-2]
    return " ".join(words)


_SENTENCE_OPENERS = frozenset("In On At But And However Meanwhile Nationally Locally".split())


def _strip_article(phrase: str) -> str:
    return re.sub(r"^(?:the|a|an|its|their)\s+", "", phrase.strip(), flags=re.IGNORECASE)


def _role_around(text: str, start: int, end: int) -> str:
    """A role stated next to a name: job words just before it ("panel chair Annie Hudson",
    "Children’s Minister Laura Kendrick") or an appositive after it ("Annie Hudson, chair
    of the panel,")."""
    m = _APPOSITIVE.match(text, end, min(len(text), end + 160))
    if m and not NOT_ROLE.match(m.group(2)) and has_role_word(m.group(2)):
        return m.group(2).strip()
    before = text[max(0, start - 80) : start]
    if before.endswith(", "):  # "The charity’s chief executive, Tom Reyes, said"
        lead = before[:-2]
        lead = lead[max(lead.rfind(c) for c in '\n.;:“”"(,') + 1 :].strip()
        if has_role_word(lead) and len(lead.split()) <= 8 and not NOT_ROLE.match(lead):
            return lead
    before = before[-60:]
    cut = max(before.rfind(c) for c in '\n.;:“”"(')
    run = before[cut + 1 :].split()[-6:]
    if run:
        kept: list[str] = []
        for w in reversed(run):
            low = w.lower().strip(",")
            if w.endswith(",") or low in ("the", "said", "says", "and", "by", "with", "to", "of"):
                break
            if low in HONORIFICS and not kept:
                continue
            kept.insert(0, w)
        while kept and kept[0].lower() in ("a", "an", "its", "their", "his", "her", "our"):
            kept = kept[1:]
        if kept and has_role_word(" ".join(kept)):
            return " ".join(kept)
    return ""


def has_role_word(phrase: str) -> bool:
    return any(w.lower().strip(",’'") in ROLE_WORDS for w in phrase.split())
