"""Direct quotes with speaker and role, from the patterns of news prose.

    “…,” said Annie Hudson        Annie Hudson said: “…”        “…,” she added
    according to X                X told MPs: “…”               a DfE spokesperson said: “…”
    “…,” Jo Bloggs, the general secretary of the X union, said
    ‘…’, panel chair Jo Bloggs has said                          The report says: “…”

Marks: “…”, "…" and ‘…’ (a ’ between letters is an apostrophe; after an "s" it closes the
quote only when no plainer closing mark follows), with the other style nested inside. A
paragraph that opens with a mark while the previous paragraph's quote was never closed
continues that quote (headings and page furniture between them are skipped): it comes out as
its own quote with the same speaker. An opening mark that is never closed ends at its
paragraph, so it cannot swallow the rest of the article. He/she resolve to the last person
named as a subject; it/they to the body named in the sentences since the last quote, else the
last body quoted or the report's publisher (speakers.Cast). A speaker is left empty rather
than guessed. Headings are never searched.

Hand-written: textacy's quote extractor crashes on 4 of the dump's 10 articles and finds 12% of
its quotes; no maintained library attributes quotes without a model download.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

from bot.extract.speakers import (
    NOT_ROLE,
    Cast,
    Speaker,
    has_role_word,
    possessive_report,
    split_role,
)
from bot.extract.text import Article, Block, Sentence, alternation
from bot.models import Quote

_VERBS = (
    r"said|says|added|adds|told|tells|warned|warns|explained|explains|continued|stated|states|"
    r"wrote|writes|noted|notes|commented|argued|argues|insisted|claimed|urged|concluded|"
    r"acknowledged|admitted|stressed|emphasised|highlighted|asked|replied|responded|believes|"
    r"suggested|pointed out|went on|reiterated|cautioned|called|recalled|accepted|agreed|"
    r"found|finds|reveals|revealed|describes|described|brands|branded|put it|puts it|"
    r"concludes|observes|observed|notes|warns|says"
)
_NAME_WORD = r"(?:[A-Z][\w’'-]+|de|van|von|der|da|di|le|la|al|bin|O’[A-Z]\w+)"
_NAME = rf"[A-Z][\w’'-]+(?:\s+{_NAME_WORD})*"
_AUX = r"(?:(?:has|have|had|also|then|later|once)\s+)*"
# after the closing mark: “…,” said Annie Hudson / “…,” she added / “…,” Smith told MPs /
# “…,” Jo Bloggs, the general secretary of the X union, said / “…” …, chair Jo Bloggs has said
_TAG_AFTER = re.compile(
    rf"^[,.!?]?\s*(?:(?P<verb1>{_VERBS})\s+(?P<subj1>[^.;:“”‘\"]+?)(?=,\s+(?:in|at|on|who|adding|after|when|as)\b|[.;:]|\s+(?:in|at|on|who|to|during|before|after|when|while)\b|$)"
    rf"|(?P<subj2>[^,.;:“”‘\"]{{1,120}}?)\s+{_AUX}(?P<verb2>{_VERBS})\b"
    rf"|(?P<subj3>[^.;:“”‘\"]{{1,220}}?),\s+{_AUX}(?P<verb3>{_VERBS})\b)",
)
# a speech verb, as a word: found by one linear scan, never by a search anchored at the end
_VERB = re.compile(rf"\b(?:{alternation(_VERBS.split('|'))})\b")
# the same led by a non-word character (the caller pads the text with a space): the engine
# skips ahead to the next non-word character instead of trying every position
_VERB_SCAN = re.compile(rf"[\W_](?:{alternation(_VERBS.split('|'))})(?!\w)")
# the same without a leading \b, which would stop the engine skipping ahead by first letter;
# the caller checks the left boundary itself
_TRAILING_NAME = re.compile(rf"(?:^|\s)({_NAME})$")
_ACCORDING = re.compile(r"\baccording to (?P<subj>[^,.;:“”‘\"]+)", re.IGNORECASE)
# a straight ' between two word characters is an apostrophe (don't): never a mark
_MARKS = re.compile(r"[“”\"‘’]|'(?:(?!\w)|(?<!\w'))")
_QUOTING = re.compile(r"[“”\"‘]")
_OPENERS = "“\"‘'"
# How far either side of a quote its sentence is read for a tag: a sentence of thousands of
# quotes (no full stop between them) would otherwise be re-read for each, which is quadratic.
_REACH = 400
_PRONOUNS = {"he": "person", "she": "person", "it": "org", "they": "any"}
_ORG_WORDS = re.compile(
    r"\b(?:panel|council|department|association|partnerships?|centre|center|government|office|"
    r"commission|commissioner’s|review|report|services?|committee|union|charity|trust|board|"
    r"spokesperson|spokesman|spokeswoman|dfe|lga|adcs|nspcc|ofsted|foundations?|agency|"
    r"agencies|authority|authorities|ministry|institute|network|study|analysis|survey|"
    r"statement|research|cafcass|unicef|barnardo’s|alliance|forum|observatory|police|nhs|"
    r"group|society|federation|findings|figures|data)\b",
    re.IGNORECASE,
)
_LEADING_CLAUSE = re.compile(
    r"^(?:in|on|at|giving|speaking|responding|writing|citing|asked|commenting|for|after|"
    r"before|during|with|under|according)\b[^,]*,\s*",
    re.IGNORECASE,
)
_UNNAMED = re.compile(r"^(?:a|an|one)\s+([a-z][\w’' -]*)$")
_ROLE_LEAD = re.compile(r"^(?:the|a|an|its|their|his|her)\s+", re.IGNORECASE)
_TRAILING_AUX = re.compile(
    r"(?:\s+(?:has|have|had|also|then|would|will|later|once|itself|themselves|himself|"
    r"herself))+$"
)


class _Speakers:
    """Who has spoken so far, for pronouns; the article's cast for names and roles."""

    def __init__(self, text: str = "") -> None:
        self.text = text
        self._cast: Cast | None = None
        self.last: Speaker | None = None
        self.last_org: Speaker | None = None
        self.at = 0  # where the quote being attributed starts
        self.spoken: set[str] = set()
        # sentences since the last quote ("The panel said that …"), read only when an "it" or
        # "they" needs them: most articles never ask, and reading them is the costly part
        self.reported: list[tuple[int, int]] = []

    @property
    def cast(self) -> Cast:
        """Built on first use: an article without quotes never needs it."""
        if self._cast is None:
            self._cast = Cast(self.text)
        return self._cast

    def note(self, speaker: Speaker) -> Speaker:
        if speaker.kind != "person":
            self.last_org = speaker
        else:
            self.spoken.add(speaker.name)
        self.last = speaker
        self.reported.clear()
        return speaker

    def pronoun(self, word: str) -> Speaker | None:
        want = _PRONOUNS[word.lower()]
        if want == "person":
            return self.cast.last_person_before(self.at, self.spoken)
        for start, end in reversed(self.reported):
            subject = _reported_subject(self.text, start, end)
            found = _speaker_from(subject, self) if subject else None
            if found is not None and (want == "any" or found.kind != "person"):
                return found
        if want == "org":
            if self.last_org is not None:
                return self.last_org
            name = self.cast.publisher()
            return Speaker(name, "", "organisation") if name else None
        return self.last


_TAG_BREAK = re.compile(r"[“”‘:;.]")
_COMMA = re.compile(r",\s*")
_LIST_TAIL = re.compile(r"(?:and|or|&)\s")
_LEAD_CONJUNCTION = re.compile(r"^(?:and|but|while|then|meanwhile|however|as)\s+", re.IGNORECASE)


def find_quotes(article: Article) -> Iterator[Quote]:
    text = article.text
    speakers = _Speakers(text)
    previous: Quote | None = None  # the last quote of the previous paragraph
    carried_open = False  # did the previous paragraph end inside a quote?
    lead_in = ""  # a paragraph that ends "…said:" introduces the quote of the next one
    # the last sentence of a previous paragraph without quotes: "Ruth Kaminski, chief
    # executive of the alliance, said the findings were a warning." then "“Social …”"
    told: tuple[int, int] | None = None
    by_block: dict[int, list[Sentence]] = {}
    for sentence in article.sentences:
        by_block.setdefault(sentence.block, []).append(sentence)
    for index, block in enumerate(article.blocks):
        if block.boilerplate:
            continue  # a caption or promo box between two quote paragraphs breaks no chain
        if block.kind == "heading":
            if not carried_open:  # a heading inside an open quote is page furniture
                previous, lead_in = None, ""
            continue
        spans, nested, ends_open = _quote_spans(text, block)
        block_sentences = by_block.get(index, [])
        sentence_starts = [s.start for s in block_sentences]
        noted = 0  # reported speech is noted sentence by sentence, up to each quote
        found: list[Quote] = []
        prev_end = block.start
        for n, (start, end) in enumerate(spans):
            k = max(0, bisect.bisect_right(sentence_starts, start - 1) - 1)
            k_end = max(k, bisect.bisect_right(sentence_starts, max(start, end - 1)) - 1)
            while noted < k:
                s = block_sentences[noted]
                speakers.reported.append((s.start, s.end))
                noted += 1
            s_start = max(block_sentences[k].start if block_sentences else start - 1, prev_end)
            s_start = max(s_start, start - 1 - _REACH)
            s_end = max(block_sentences[k_end].end if block_sentences else end, end)
            s_end = min(s_end, end + 1 + _REACH)
            if not text[end + 1 : s_end].strip(' ,.”’"') and k_end + 1 < len(block_sentences):
                s_end = _with_tag_sentence(text, block_sentences[k_end + 1], s_end)
            kind = _kind(text, s_start, start, end, s_end)
            speakers.at = start
            lead = lead_in if n == 0 and start - 1 == block.start else ""
            speaker = _attribute(text, s_start, start, end, s_end, speakers, lead)
            # A paragraph that is only a quote, untagged, goes on with the previous speaker.
            continues = (
                n == 0
                and start - 1 == block.start
                and (carried_open or (previous is not None and speaker is None))
            )
            if speaker is None and continues and previous is not None and previous.speaker:
                speaker = Speaker(previous.speaker, previous.role, previous.speaker_kind)
            if speaker is None and n == 0 and start - 1 == block.start and told is not None:
                subject = _reported_subject(text, *told)
                speaker = _speaker_from(subject, speakers) if subject else None
            if speaker is None and n > 0 and found and found[-1].speaker:
                speaker = Speaker(found[-1].speaker, found[-1].role, found[-1].speaker_kind)
            if speaker is not None:
                speakers.note(speaker)
            found.append(
                Quote(
                    text=text[start:end],
                    start=start,
                    end=end,
                    speaker=speaker.name if speaker else "",
                    role=speaker.role if speaker else "",
                    kind=kind,
                    sentence=text[s_start:s_end],
                    speaker_kind=speaker.kind if speaker else "",
                )
            )
            prev_end = end + 1
        for s in block_sentences[noted:]:
            speakers.reported.append((s.start, s.end))
        yield from _with_nested(text, found, nested)
        previous = found[-1] if found else None
        carried_open = ends_open
        tail = text[max(block.start, block.end - 2) : block.end]
        lead_in = text[block.start : block.end] if tail.endswith(":") and not spans else ""
        told = None
        if not spans and block_sentences and block.kind == "paragraph":
            told = (block_sentences[-1].start, block_sentences[-1].end)


def _with_nested(text: str, found: list[Quote], nested: list[tuple[int, int]]) -> Iterator[Quote]:
    """The paragraph's quotes, each followed by the quotes nested in it (“a man was ‘not
    seen’”): words its speaker quotes from someone the article does not name."""
    k = 0
    for quote in found:
        yield quote
        while k < len(nested) and nested[k][0] < quote.end:
            start, end = nested[k]
            k += 1
            if start >= quote.start:
                yield Quote(
                    text=text[start:end],
                    start=start,
                    end=end,
                    speaker="",
                    role="",
                    kind="fragment",
                    sentence=quote.text,
                    speaker_kind="",
                )


def _with_tag_sentence(text: str, nxt: Sentence, s_end: int) -> int:
    """ "“…” Varga said." splits after the closing mark (a capital follows): a short next
    sentence that is only an attribution tag belongs to the quote."""
    if nxt.end - nxt.start > 160 or _MARKS.search(text, nxt.start, nxt.end):
        return s_end
    m = _TAG_AFTER.match(text, nxt.start, nxt.end)
    if m and not text[m.end() : nxt.end].strip(" .,"):
        return nxt.end
    return s_end


def _quote_spans(
    text: str, block: Block
) -> tuple[list[tuple[int, int]], list[tuple[int, int]], bool]:
    """(start, end) of the words inside each pair of marks; an unclosed quote ends with its
    paragraph. Returns the spans, the quotes nested inside them (a single-marked quote
    inside a double-marked one: “… was ‘not seen’ …”), and whether the paragraph ended
    inside a quote.

    A single ’ or ' is an apostrophe between letters (children’s); after an "s" before a
    space (councils’) it closes the quote only when no plainer closing mark follows before
    the next opening one. A straight single mark that is never closed in its paragraph was an
    apostrophe ('90s, rock 'n' roll): it opens nothing.

    One pass over the marks, plus one backwards for the "councils’" question: asking it by
    scanning ahead from every such mark made a run of them quadratic."""
    marks = [(m.start(), m.group()) for m in _MARKS.finditer(text, block.start, block.end)]
    decisive = _next_single_verdicts(text, marks)
    spans: list[tuple[int, int]] = []
    nested: list[tuple[int, int]] = []
    open_at: int | None = None
    style = ""
    inner_at: int | None = None  # a single-marked quote open inside a double-marked one
    inner_style = ""
    for n, (i, ch) in enumerate(marks):
        if open_at is None:
            if (
                ch == "“"
                or (ch == '"' and _opens(text, i))
                or (ch in "‘'" and _single_opens(text, i) and _closed_later(text, marks, n))
            ):
                open_at, style = i + 1, ch
            continue
        if style in '“"' and ch in "‘'’" and not (ch == "’" and inner_at is None):
            if inner_at is None:
                if ch != "’" and _single_opens(text, i):
                    inner_at, inner_style = i + 1, ch
            elif _single_closes(text, i, ch, inner_style, decisive[n]):
                if i > inner_at:
                    nested.append((inner_at, i))
                inner_at = None
            continue
        closes = (
            (style == "“" and ch in '”"')
            or (style == '"' and ch == '"')
            or (style in "‘'" and _single_closes(text, i, ch, style, decisive[n]))
        )
        if closes:
            if i > open_at:
                spans.append((open_at, i))
            open_at, inner_at = None, None
    if open_at is not None:
        end = block.end
        if end > open_at:
            spans.append((open_at, end))
        return spans, nested, True
    return spans, nested, False


def _next_single_verdicts(text: str, marks: list[tuple[int, str]]) -> list[bool]:
    """For each mark, does a "councils’" there close its quote? True when, after it, a new
    single quote opens before any plainer closing mark (or nothing decisive follows)."""
    out = [True] * len(marks)
    verdict = True
    for n in range(len(marks) - 1, -1, -1):
        out[n] = verdict
        j, ch = marks[n]
        if ch in "‘'" and _single_opens(text, j):
            verdict = True
        elif ch in "’'" and _single_kind(text, j) == "close":
            verdict = False
    return out


def _closed_later(text: str, marks: list[tuple[int, str]], n: int) -> bool:
    """Is a straight single mark closed in its paragraph? (the curly ‘ always opens: a
    curly-quoting publisher means it). Only the next few marks are read, to stay linear."""
    if marks[n][1] == "‘":
        return True
    return any(
        ch == "'" and _single_kind(text, j) != "apostrophe" for j, ch in marks[n + 1 : n + 40]
    )


def _single_opens(text: str, i: int) -> bool:
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    if text[i] == "'":  # the typewriter mark is also an apostrophe: it opens only a word
        return not before.isalnum() and after.isalnum()
    return not before.isalnum() and not after.isspace()


def _single_kind(text: str, i: int) -> str:
    """What a ’ is: "apostrophe" (between letters, or after a space: ’90s), "maybe" (after
    an s before a space: councils’ or a closing mark), or "close"."""
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    if before.isspace() or after.isalnum():
        return "apostrophe"
    if text[i] == "'" and not (before.isalnum() or before in ".,!?…)%"):
        return "apostrophe"  # a typewriter mark closes only words
    if before in "sS" and after == " ":
        return "maybe"
    return "close"


def _single_closes(text: str, i: int, ch: str, style: str, plainer_later: bool) -> bool:
    """Does the single mark `ch` at i close a quote opened with `style` (‘ closes with ’,
    ' with ')?"""
    if (style == "‘") != (ch == "’"):
        return False
    kind = _single_kind(text, i)
    if kind != "maybe":
        return kind == "close"
    return plainer_later


def _opens(text: str, i: int) -> bool:
    """A straight quote opens when it stands before a word, not after one."""
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return (before.isspace() or before in "([—–-") and not after.isspace()


def _kind(text: str, s_start: int, start: int, end: int, s_end: int) -> str:
    """full: speech standing as its own sentence — it opens its sentence (or follows
    "said:") with a capital, and what follows the closing mark is nothing but an attribution
    tag or another quote; otherwise a fragment inside the reporter's sentence."""
    lead = text[s_start : start - 1].rstrip()
    opens = (not lead or lead.endswith((":", "…"))) and text[start : start + 1].isupper()
    if not opens:
        return "fragment"
    rest = text[end + 1 : s_end].strip(' .,”’"')
    if not rest or rest.startswith(tuple(_OPENERS)) or _TAG_AFTER.match(text[end + 1 : s_end]):
        return "full"
    return "fragment"


def _attribute(
    text: str,
    s_start: int,
    start: int,
    end: int,
    s_end: int,
    speakers: _Speakers,
    lead_in: str = "",
) -> Speaker | None:
    after = text[end + 1 : s_end]
    m = _TAG_AFTER.match(after)
    if m:
        subject = m.group("subj1") or m.group("subj2") or m.group("subj3") or ""
        found = _speaker_from(subject, speakers)
        if found:
            return found
    # before the opening mark, in the same sentence: "Annie Hudson said: “" / "They added: “"
    for before in (text[s_start : max(s_start, start - 1)], lead_in):
        found = _speaker_before(before, speakers) or _colon_lead(before, speakers)
        if found:
            return found
    m = _ACCORDING.search(text[s_start:s_end])
    if m:
        return _speaker_from(m.group("subj"), speakers)
    return None


def _speaker_before(before: str, speakers: _Speakers) -> Speaker | None:
    """ "Annie Hudson said: “": the subject of the last speech verb before the mark."""
    verbs = list(_VERB_SCAN.finditer(" " + before))  # the pad shifts offsets by one
    if not verbs:
        return None
    start, end = verbs[-1].start(), verbs[-1].end() - 1
    rest = before[end:]
    # "The report found that …, and that exclusion was “…”": reported speech runs longer
    reach = 240 if rest.startswith(" that ") else 82
    if len(rest) <= reach and not _TAG_BREAK.search(rest.rstrip(" :,")):
        return _speaker_from(before[:start], speakers)
    return None


def _colon_lead(before: str, speakers: _Speakers) -> Speaker | None:
    """ "The Panel’s annual report makes a similar point: ‘…’": a report introducing the
    quote with a colon and no speech verb speaks for its publisher."""
    lead = before.strip()
    if not lead.endswith(":") or not possessive_report(lead):
        return None
    return speakers.cast.organisation(lead)


def _reported_subject(text: str, start: int, end: int) -> str:
    """The subject of "The panel said that …" (a sentence with no quote of its own), or ""."""
    verb = _VERB.search(text, start + 3, min(end, start + 170))
    if verb is None:
        return ""
    subject = text[start : verb.start()].rstrip()
    words = subject.split()
    if (
        not words
        or _QUOTING.search(subject)  # (a ’ is most often an apostrophe: "Children’s")
        or (len(words) == 1 and words[0].lower() in _PRONOUNS)
    ):
        return ""
    return subject


def _speaker_from(subject: str, speakers: _Speakers) -> Speaker | None:
    """The speaker named by the subject of a speech verb, with a role when one is given."""
    cast = speakers.cast
    subject = _LEADING_CLAUSE.sub("", subject.strip(" ,"))
    subject = _TRAILING_AUX.sub("", _LEAD_CONJUNCTION.sub("", subject)).strip(" ,")
    words = subject.split()
    if not words:
        return None
    if len(words) == 1 and words[0].lower() in _PRONOUNS:
        return speakers.pronoun(words[0])
    if len(words) <= 3 and cast.is_known_surname(subject):  # "Smith", "Ms Beckett"
        return cast.person(subject)
    report = cast.organisation(subject) if possessive_report(subject) else None
    if report is not None:  # "The Brightwater Trust’s review of …, published in …,"
        return report
    parts = [p.strip() for p in _COMMA.split(subject) if p.strip()]
    if len(parts) > 1 and _LIST_TAIL.match(parts[-1]) and _ORG_WORDS.search(parts[-1]):
        # "Central Bedfordshire, Suffolk, and Norfolk’s safeguarding children partnerships"
        return Speaker(_ROLE_LEAD.sub("", subject), "", "organisation")
    # "Andy Smith, president of the ADCS" / "The charity’s chief executive, Tom Reyes"
    for k in range(len(parts) - 1, -1, -1):
        name = _trailing_name(parts[k])
        if not name:
            continue
        person, job = _known_person(name, cast)
        if not person:
            continue
        title = parts[k][: len(parts[k]) - len(name)].strip(" ,")
        title = " ".join(t for t in (_LEAD_CONJUNCTION.sub("", title), job) if t)
        after = ", ".join(p for p in parts[k + 1 :] if not NOT_ROLE.match(p))
        # an appositive states the role ("Callum Reid, a member of the panel"); words before
        # the name do when they are a job ("panel chair Jo Bloggs"), not "Seventeen-year-old"
        if after and (has_role_word(after) or not has_role_word(title)):
            role = after
        else:
            role = _ROLE_LEAD.sub("", title) or after
        if not role and k > 0 and has_role_word(parts[k - 1]):
            role = parts[k - 1]  # "The charity’s chief executive, Tom Reyes, said"
        return cast.person(person, _ROLE_LEAD.sub("", role) if role else "")
    head = _LEAD_CONJUNCTION.sub("", parts[-1])
    unnamed = _UNNAMED.match(parts[0])
    if unnamed and has_role_word(unnamed.group(1)) and not _trailing_name(parts[0]):
        # "A council leader, who asked not to be named,": a role, no name
        return Speaker("", unnamed.group(1), "person")
    org = cast.organisation(head, speakers.last_org)
    if org is not None:
        return org
    name = _trailing_name(head)
    if name and not _ORG_WORDS.search(head[: len(head) - len(name)]) and head != name:
        # "Sector evidence body Foundations": the name speaks, the words before are its role
        role = _ROLE_LEAD.sub("", head[: -len(name)].strip())
        return Speaker(name, role, "organisation")
    if name and len(name.split()) <= 8:
        return Speaker(name, "", "organisation")
    return None


def _known_person(name: str, cast: Cast) -> tuple[str, str]:
    """The person in a capitalised run and the job words before them ("Minister for Youth Sam
    Adeyemi" → "Sam Adeyemi"): the longest tail the article uses as a person's name."""
    person, job = split_role(name)
    words = person.split()
    for i in range(len(words)):
        tail = " ".join(words[i:])
        if cast.is_known_surname(tail) and (len(words) - i > 1 or i == 0):
            lead = " ".join(words[:i])
            return tail, " ".join(t for t in (job, lead) if t)
    return "", ""


def _trailing_name(phrase: str) -> str:
    phrase = phrase.strip()
    tail = phrase[-80:]  # a name is a few words: never search the whole phrase from each start
    m = _TRAILING_NAME.search(tail)
    if m and m.start(1) == 0 and len(tail) < len(phrase) and not phrase[-81].isspace():
        return ""  # the tail cut a word in two
    return m.group(1) if m else ""


def _looks_like_person(name: str) -> bool:
    words = name.split()
    if not words or _ORG_WORDS.search(name) or name.isupper():
        return False
    if len(words) == 1:
        return False  # a bare surname is a person only when the article named them in full
    return (
        all(
            w[0].isupper() or w in ("de", "van", "von", "der", "da", "di", "le", "la")
            for w in words
        )
        and len(words) <= 5
    )
