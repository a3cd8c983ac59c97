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

The tags made carry no attribute but a link's ``href`` (an escaped http(s)
address) and ``rel``.
"""
from __future__ import annotations

import html
import re

_FENCE = re.compile(r"^\s*```")
_HEADING = re.compile(r"^(#{1,3})\s+(.*)$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d{1,9}[.)]\s+(.*)$")
_CODE = re.compile(r"`([^`\n]+)`")
# over escaped text: the address may not hold a quote (escaped to &quot;), space or ")"
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s)\"'<>]+)\)", re.IGNORECASE)
_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_EM_STAR = re.compile(r"(?<![*\w])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![*\w])")
_EM_UNDER = re.compile(r"(?<![_\w])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![_\w])")
#: stands in for a code span while the rest of a line is formatted (NUL never
#: reaches here: studies.validation refuses it, and render drops it)
_HOLD = "\x00{}\x00"
_HELD = re.compile("\x00(\\d+)\x00")


def _inline(text: str) -> str:
    """One line or paragraph of raw text as safe HTML."""
    text = html.escape(text, quote=True)
    held: list[str] = []

    def hold(fragment: str) -> str:
        held.append(fragment)
        return _HOLD.format(len(held) - 1)

    text = _CODE.sub(lambda m: hold(f"<code>{m.group(1)}</code>"), text)
    text = _LINK.sub(lambda m: hold(f'<a href="{m.group(2)}" rel="nofollow noopener noreferrer">'
                                    f"{_emphasis(m.group(1))}</a>"), text)
    text = _emphasis(text)
    # a link's text may hold a code span: restore until none is left
    while _HELD.search(text):
        text = _HELD.sub(lambda m: held[int(m.group(1))], text)
    return text


def _emphasis(text: str) -> str:
    text = _STRONG.sub(r"<strong>\1</strong>", text)
    text = _EM_STAR.sub(r"<em>\1</em>", text)
    return _EM_UNDER.sub(r"<em>\1</em>", text)


def render(text: str) -> str:
    """The notes as HTML (see the module doc); "" for empty notes."""
    lines = (text or "").replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []
    kind = ""   # "ul" or "ol" while a list is open

    def flush() -> None:
        nonlocal kind
        if paragraph:
            out.append("<p>" + "<br>".join(_inline(line) for line in paragraph) + "</p>")
            paragraph.clear()
        if items:
            out.append(f"<{kind}>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + f"</{kind}>")
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
            out.append("<pre><code>" + html.escape("\n".join(code), quote=True) + "</code></pre>")
            continue
        if not line.strip():
            flush()
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            level = len(heading.group(1)) + 2
            out.append(f"<h{level}>{_inline(heading.group(2).strip())}</h{level}>")
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
    return "\n".join(out)
