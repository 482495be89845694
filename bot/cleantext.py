"""The characters no stored or exported text keeps.

XML 1.0 cannot carry C0 control characters other than tab, newline and carriage return, not
even as character references, nor U+FFFE, U+FFFF or lone surrogates; a lone surrogate cannot
be written as UTF-8 at all, so it breaks the JSON export's file too. C1 controls (U+0080 to
U+009F, left over when feedparser has mapped the Windows-1252 ones) and DEL are allowed but
are never text a reader should get. Every text field is cleaned when a document is read, so
the archive never holds them, and the exports clean again for archives written before.
Carriage returns go too: line ends are newlines in the archive's text layout.
"""

from __future__ import annotations

import re

_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def clean_text(value: str) -> str:
    """`value` without control characters (tab and newline stay) and non-characters."""
    return _UNWANTED.sub("", value)
