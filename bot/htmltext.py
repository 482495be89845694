"""Feed HTML ↔ the archive's plain text.

The archive keeps an item's words as plain text: paragraphs separated by a blank line, a line
break inside a paragraph kept as a newline, list items one per line as "  • item" or "  1. item"
with continuation lines indented four spaces. That is the layout of the supplied dump, so an
article read from a live feed and the same article read from a dump give the same text, and
`text_to_html` inverts `html_to_text` for text in this layout (the RSS export round-trips).

lxml parses the HTML (it survives any markup); the walk that lays out blocks is ours because
html2text-style libraries emit Markdown, not this layout.

`sanitise` makes feed HTML safe to store and re-publish: nh3 with the one URL policy
(bot.urls: only http(s) links and images, relative ones resolved against the feed), no
tracking pixels (bot.trackers), and nothing nested deeper than MAX_DEPTH levels.
"""

from __future__ import annotations

import functools
import html as html_lib
import re

import nh3
from lxml import etree

from bot.errors import MarkupTooDeep
from bot.trackers import is_tracking_image
from bot.urls import LINK_SCHEMES, safe_url

_BLOCKS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figure",
        "figcaption",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "ul",
    ]
)
_SKIP = frozenset(
    ["script", "style", "template", "noscript", "head", "iframe", "object", "embed", "svg", "img"]
)
# Only ASCII white space collapses, as in a browser; a no-break space (U+00A0) is content.
# Any run of ASCII white space but a lone space (already what it becomes): matching every
# single space between words made re.sub rebuild each paragraph from its words.
_SPACE = re.compile(r"[\t\n\r\f][ \t\n\r\f]*| [ \t\n\r\f]+")
_ASCII_SPACE = " \t\n\r\f"
_LIST_LINE = re.compile(r"^  (?:• |(\d+)\. )(.*)$")
_CONTINUATION = "    "


class _Layout:
    """Accumulates blocks of lines while walking the tree.

    The current line is a list of parts plus a flag saying whether it holds anything but
    ASCII white space: re-joining and re-stripping the line at every text node made the
    walk quadratic in a paragraph's length."""

    def __init__(self) -> None:
        self.blocks: list[list[str]] = []
        self.lines: list[str] = []
        self.parts: list[str] = []
        self.filled = False  # the line has more than ASCII white space

    def text(self, value: str) -> None:
        value = _SPACE.sub(" ", value)
        if not self.filled:
            value = value.lstrip(_ASCII_SPACE)  # a line's prefix ("  • ", indent) is kept as is
            if not value:
                return
            self.filled = True
        self.parts.append(value)

    def _begin(self, prefix: str) -> None:
        self.parts = [prefix] if prefix else []
        self.filled = bool(prefix.strip(_ASCII_SPACE))

    def _line(self) -> str:
        return "".join(self.parts).rstrip(_ASCII_SPACE)

    def newline(self, indent: str = "") -> None:
        self.lines.append(self._line())
        self._begin(indent)

    def start_line(self, prefix: str) -> None:
        if self.filled:
            self.newline()
        self._begin(prefix)

    def end_block(self) -> None:
        if self.filled:
            self.lines.append(self._line())
        self._begin("")
        kept = [ln for ln in self.lines if ln.strip(_ASCII_SPACE)]
        if kept:
            self.blocks.append(kept)
        self.lines = []


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment, laid out as described in the module docstring."""
    if not markup.strip():
        return ""
    if "<" not in markup and "&" not in markup:
        # no markup at all (most titles and excerpts): what the walk below would give, as
        # HTML reads it — one paragraph, ASCII white space collapsed — without parsing
        return _SPACE.sub(" ", markup).strip(_ASCII_SPACE)
    body = _body(markup)
    if body is None:
        return markup.strip()
    layout = _Layout()
    # the fragment as one <div>, as lxml.html.fragment_fromstring(create_parent=True) makes it
    if body.text and body.text.strip():
        layout.text(body.text)
    for child in body:
        _walk(child, layout, list_kind=None)
    layout.end_block()
    return "\n\n".join("\n".join(block) for block in layout.blocks)


# libxml2's HTML parser with lxml's defaults, as lxml.html uses it, but with plain elements:
# lxml.html's element-class lookup is a Python call for every element the walk touches.
_PARSER = etree.HTMLParser()
_FULL_DOCUMENT = re.compile(r"^\s*<(?:html|!doctype)", re.IGNORECASE)


def _body(markup: str) -> etree._Element | None:
    """The <body> libxml2 makes of an HTML fragment (None when it cannot parse it)."""
    if not _FULL_DOCUMENT.match(markup):
        markup = f"<html><body>{markup}</body></html>"
    try:
        root = etree.fromstring(markup, _PARSER)
    except (etree.ParserError, ValueError):
        return None
    if root is None:
        return None
    bodies = [e for e in root if e.tag == "body"]
    # a whole document without a body (a frameset, a lone <head>) has no words to read
    return bodies[0] if bodies else etree.Element("body")


def _walk(
    el: etree._Element, layout: _Layout, list_kind: str | None, in_item: bool = False
) -> None:
    tag = el.tag.lower() if isinstance(el.tag, str) else ""
    if tag in _SKIP or not isinstance(el.tag, str):  # comments and processing instructions
        _tail(el, layout)
        return
    if tag == "br":
        layout.newline(_CONTINUATION if in_item else "")
        _tail(el, layout)
        return
    if tag == "li":
        number = el.get("value")
        if list_kind == "ol":
            parent = el.getparent()
            siblings = (
                [c for c in parent if getattr(c, "tag", "") == "li"] if parent is not None else [el]
            )
            start = (
                int(parent.get("start", "1"))
                if parent is not None and (parent.get("start") or "1").isdigit()
                else 1
            )
            number = number or str(start + siblings.index(el))
        layout.start_line(f"  {number}. " if list_kind == "ol" else "  • ")
        _children(el, layout, list_kind, in_item=True)
        _tail(el, layout)
        return
    block = tag in _BLOCKS and not in_item
    if block:
        layout.end_block()
    _children(el, layout, tag if tag in ("ul", "ol") else list_kind, in_item)
    if block:
        layout.end_block()
    _tail(el, layout)


def _children(el: etree._Element, layout: _Layout, list_kind: str | None, in_item: bool) -> None:
    if el.text:
        layout.text(el.text)
    for child in el:
        _walk(child, layout, list_kind, in_item)


def _tail(el: etree._Element, layout: _Layout) -> None:
    if el.tail:
        layout.text(el.tail)


def text_to_html(text: str) -> str:
    """HTML for archive text: a <p> per paragraph, <ul>/<ol> for list lines, <br> within."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.split("\n")
        if (
            lines
            and _LIST_LINE.match(lines[0])
            and all(_LIST_LINE.match(ln) or ln.startswith(_CONTINUATION) for ln in lines)
        ):
            out.append(_list_html(lines))
        elif block.strip():
            out.append("<p>" + "<br>".join(_esc(ln) for ln in lines) + "</p>")
    return "\n".join(out)


def _list_html(lines: list[str]) -> str:
    first = _LIST_LINE.match(lines[0])
    assert first is not None  # checked by the caller
    ordered = first.group(1) is not None
    items: list[list[str]] = []
    for ln in lines:
        m = _LIST_LINE.match(ln)
        if m:
            items.append([m.group(2)])
        else:
            items[-1].append(ln[len(_CONTINUATION) :])
    tag = "ol" if ordered else "ul"
    start = f' start="{first.group(1)}"' if ordered and first.group(1) != "1" else ""
    body = "".join("<li>" + "<br>".join(_esc(p) for p in parts) + "</li>" for parts in items)
    return f"<{tag}{start}>{body}</{tag}>"


def _esc(value: str) -> str:
    return html_lib.escape(value, quote=False)


def plain_to_text(value: str, *, paragraphs: bool = True) -> str:
    """Plain text (Atom type="text", an RSS title without markup) in the archive's layout,
    taken literally: "a <b>" stays "a <b>". White space collapses as it would in HTML; a
    blank line separates paragraphs unless `paragraphs` is False (titles are one line)."""
    parts = _BLANK_LINE.split(value) if paragraphs else [value]
    kept = (_SPACE.sub(" ", p).strip(_ASCII_SPACE) for p in parts)
    return "\n\n".join(p for p in kept if p)


_BLANK_LINE = re.compile(r"\n[ \t\r\f]*\n")

# nh3 takes time growing with the square of the nesting (10,000 levels: 1 s; 100,000: about
# 17 s) before html5ever's own limits stop it, on every poll of such a feed. No article
# nests anywhere near this; libxml2 stops reading at 255 levels, so the text has the same cut.
MAX_DEPTH = 200
_TOO_DEEP = etree.XPath("boolean(/html/body/" + "/".join(["*"] * (MAX_DEPTH + 1)) + ")")


def too_deep(markup: str) -> bool:
    """True when the HTML nests elements more than MAX_DEPTH levels below its body: a few
    milliseconds even for 100,000 levels (libxml2 parses in C and stops at 255)."""
    if markup.count("<") - markup.count("</") <= MAX_DEPTH:
        # at most MAX_DEPTH start tags: nesting stays near that (a parser's implied
        # elements at most double it), which nh3 cleans in a millisecond. The usual article
        # costs two str.count, not a parse.
        return False
    body = _body(markup)
    return body is not None and bool(_TOO_DEEP(body))


# ammonia's default attributes but `cite`, a URL no reader shows that it would not check
_ATTRIBUTES = {
    tag: {a for a in names if a != "cite"} for tag, names in nh3.ALLOWED_ATTRIBUTES.items()
}
_LINK_REL = "noopener noreferrer nofollow"


@functools.lru_cache(maxsize=64)
def _cleaner(base: str) -> nh3.Cleaner:
    """One Cleaner per base URL (a feed's items share it): building one costs as much as
    cleaning an article. ammonia checks absolute URLs' schemes against LINK_SCHEMES and joins
    relative ones to `base` (itself http(s), from safe_url) in Rust: a Python callback per
    URL doubled the cost of sanitising an article with links."""
    return nh3.Cleaner(
        attributes=_ATTRIBUTES,
        url_schemes=set(LINK_SCHEMES),
        url_relative=("rewrite_with_base", base) if base else "deny",
        link_rel=_LINK_REL,
    )


def sanitise(markup: str, *, base: str = "") -> str:
    """Feed HTML made safe to store and re-publish: nh3 (ammonia) with its default tags; only
    http(s) URLs in links and images, relative ones resolved against `base` (the feed's URL
    or the item's xml:base) and dropped without one; no tracking pixels. Raises
    MarkupTooDeep, before nh3 sees it, for HTML nested deeper than MAX_DEPTH levels."""
    if too_deep(markup):
        raise MarkupTooDeep(f"HTML nested more than {MAX_DEPTH} levels deep")
    cleaned = _cleaner(safe_url(base)).clean(markup)
    return _drop_trackers(cleaned) if "<img" in cleaned else cleaned


# nh3 writes html5ever's serialisation: lower-case names, every value in double quotes with
# " escaped, so this pattern finds exactly its <img> elements (a value holding "<img" has no
# quote of its own to match). nh3 keeps or drops attributes one at a time, never elements
# by their attributes, hence this pass.
_IMG = re.compile(r'<img(?:\s+[^\s="/>]+(?:="[^"]*")?)*\s*/?>')
_IMG_ATTR = re.compile(r'([^\s="/>]+)(?:="([^"]*)")?')


def _drop_trackers(markup: str) -> str:
    return _IMG.sub(_image_or_nothing, markup)


def _image_or_nothing(m: re.Match[str]) -> str:
    attrs = {
        k: html_lib.unescape(v) if "&" in v else v for k, v in _IMG_ATTR.findall(m.group(0), 4)
    }
    src, width, height = attrs.get("src", ""), attrs.get("width", ""), attrs.get("height", "")
    return "" if is_tracking_image(src, width, height) else m.group(0)
