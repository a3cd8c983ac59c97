"""Notes in Markdown, rendered to HTML that can hold nothing but text and a
few harmless tags.

No Markdown package is a dependency, and a full one would need a sanitiser
after it. This is a small subset, built the safe way round: the text is
HTML-escaped first (so ``<script>``, ``<img onerror=...>`` and any other
markup show as the text they are), then only these patterns turn into tags:

- paragraphs (blank lines between them; a single line break is kept as ``<br>``);
- headings ``#`` to ``###`` (shown as h3 to h5: notes sit inside a page);
- lists: ``-``, ``*`` or ``+`` items, and ``1.`` numbered ones;
- fenced code blocks (```` ``` ````) and ``inline code`` (nothing inside is formatted);
- ``**bold**``, ``*emphasis*`` and ``_emphasis_``;
- links ``[text](https://...)``: only http and https addresses, opened
  with ``rel="nofollow noopener noreferrer"``; any other scheme
  (``javascript:``, ``data:``) stays plain text.

``parse`` makes a tree of plain values (a node is a text, or ``[tag,
{"href": ...} or {}, [children]]``) that the pages build with text nodes
only (static/js/notes.js; the API sends it as ``notes_doc``), and ``render``
the same tree as HTML for the server's templates: text escaped, the tags of
TAGS, no attribute but a link's ``href`` (an http(s) address, escaped) and
``rel``.
"""
from __future__ import annotations

import html
import re

#: every tag a tree may hold ("br" has no children)
TAGS = frozenset({"p", "br", "h3", "h4", "h5", "ul", "ol", "li", "pre", "code", "strong", "em", "a"})
LINK_REL = "nofollow noopener noreferrer"

_FENCE = re.compile(r"^\s*```")
_HEADING = re.compile(r"^(#{1,3})\s+(.*)$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d{1,9}[.)]\s+(.*)$")
_CODE = re.compile(r"`([^`\n]+)`")
# the address may not hold a space, a quote, ")" or angle brackets
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s)\"'<>]+)\)", re.IGNORECASE)
_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_EM_STAR = re.compile(r"(?<![*\w])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![*\w])")
_EM_UNDER = re.compile(r"(?<![_\w])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![_\w])")


def _node(tag: str, children: list, attrs: dict | None = None) -> list:
    return [tag, attrs or {}, children]


#: inline patterns, first match wins: a code span's text is never formatted,
#: a link's text may be emphasised, emphasis may nest
_EMPHASIS = (
    (_STRONG, lambda m: _node("strong", _inline(m.group(1), _EMPHASIS[1:]))),
    (_EM_STAR, lambda m: _node("em", _inline(m.group(1), _EMPHASIS[2:]))),
    (_EM_UNDER, lambda m: _node("em", _inline(m.group(1), ()))),
)
_INLINE = (
    (_CODE, lambda m: _node("code", [m.group(1)])),
    (_LINK, lambda m: _node("a", _inline(m.group(1), _EMPHASIS), {"href": m.group(2)})),
    *_EMPHASIS,
)


def _inline(text: str, patterns=_INLINE) -> list:
    """One line of raw text as nodes: the first pattern splits it, the rest format the pieces between."""
    if not patterns:
        return [text] if text else []
    (regex, make), rest = patterns[0], patterns[1:]
    out, pos = [], 0
    for m in regex.finditer(text):
        out += _inline(text[pos:m.start()], rest)
        out.append(make(m))
        pos = m.end()
    return out + _inline(text[pos:], rest)


def parse(text: str) -> list:
    """The notes as a list of block nodes (see the module doc)."""
    lines = (text or "").replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list = []
    paragraph: list[str] = []
    items: list[str] = []
    kind = ""   # "ul" or "ol" while a list is open

    def flush() -> None:
        nonlocal kind
        if paragraph:
            children: list = []
            for n, line in enumerate(paragraph):
                children += ([_node("br", [])] if n else []) + _inline(line)
            out.append(_node("p", children))
            paragraph.clear()
        if items:
            out.append(_node(kind, [_node("li", _inline(i)) for i in items]))
            items.clear()
            kind = ""

    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if _FENCE.match(line):
            flush()
            code = []
            while i < len(lines) and not _FENCE.match(lines[i]):
                code.append(lines[i])
                i += 1
            i += 1   # the closing fence (or the end of the notes)
            out.append(_node("pre", [_node("code", ["\n".join(code)])]))
            continue
        if not line.strip():
            flush()
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            out.append(_node(f"h{len(heading.group(1)) + 2}", _inline(heading.group(2).strip())))
            continue
        bullet, numbered = _BULLET.match(line), _NUMBERED.match(line)
        if bullet or numbered:
            wanted = "ul" if bullet else "ol"
            if paragraph or (kind and kind != wanted):
                flush()
            kind = wanted
            items.append((bullet or numbered).group(1))
            continue
        if items:   # a line after a list item continues it
            items[-1] += " " + line.strip()
            continue
        paragraph.append(line.strip())
    flush()
    return out


def to_html(node) -> str:
    """One node of a tree as HTML."""
    if isinstance(node, str):
        return html.escape(node, quote=True)
    tag, attrs, children = node
    if tag == "br":
        return "<br>"
    opening = tag
    if tag == "a":
        opening += f' href="{html.escape(attrs["href"], quote=True)}" rel="{LINK_REL}"'
    return f"<{opening}>{''.join(map(to_html, children))}</{tag}>"


def render(text: str) -> str:
    """The notes as HTML (see the module doc); "" for empty notes."""
    return "\n".join(to_html(block) for block in parse(text))
