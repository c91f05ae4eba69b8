"""Text from the data inside the reports' Markdown: shown as the text it is, never as markup.

The report sentences (:mod:`maturity_analysis.output.narrative`, and the few this layer writes)
are Markdown, rendered to HTML. A branch name ``<script>…``, a code ``*4203*`` or a product
``[x](javascript:…)`` goes through :func:`md` first: the characters that start Markdown or HTML
markup inside a line (``\\ ` * _ [ ] < > & ~ | $ !`` and ``:``, for bare URLs) are
backslash-escaped, as are those that start a block at the head of a value (``#``, ``-``, ``+``,
``=``, ``1.``), and line breaks become spaces. CommonMark then shows each escaped character
literally: no tag, entity, link, emphasis, code span, heading or table cell comes from data,
and ``41-50`` or ``金账户(万能型)`` read as they are in the Markdown source too.
"""

from __future__ import annotations

import re

_INLINE = re.compile(r"([\\`*_\[\]<>&~|$!:])")
_LEADING = re.compile(r"^(\s*)([#\-+=]|\d+(?=[.)]))")
_BREAKS = re.compile(r"\s*[\r\n]+\s*")


def md(value: object) -> str:
    r"""``value`` as literal Markdown text.

    >>> md("<b>网点</b>"), md("41-50")
    ('\\<b\\>网点\\</b\\>', '41-50')
    >>> md("a_b\n# c"), md("# d"), md("1. e")
    ('a\\_b # c', '\\# d', '1\\. e')
    """
    text = _INLINE.sub(r"\\\1", _BREAKS.sub(" ", str(value)))
    return _LEADING.sub(lambda m: m[1] + (m[2] + "\\" if m[2][0].isdigit() else "\\" + m[2]), text)
