"""studies.markdown: notes become HTML that holds only text and a few harmless tags."""
from __future__ import annotations

import re

import pytest

from studies.markdown import render


def test_the_subset():
    text = ("# Findings\n"
            "Adam **wins** at *small* lr, see _run 3_ and `lr=1e-3`.\n"
            "second line\n\n"
            "- one\n- two with [a link](https://example.org/a_b?x=1&y=2)\n\n"
            "1. first\n2. second\n\n"
            "```\nfor x in y:\n    print(x)\n```")
    assert render(text) == (
        "<h3>Findings</h3>\n"
        "<p>Adam <strong>wins</strong> at <em>small</em> lr, see <em>run 3</em> and <code>lr=1e-3</code>.<br>"
        "second line</p>\n"
        '<ul><li>one</li><li>two with <a href="https://example.org/a_b?x=1&amp;y=2" '
        'rel="nofollow noopener noreferrer">a link</a></li></ul>\n'
        "<ol><li>first</li><li>second</li></ol>\n"
        "<pre><code>for x in y:\n    print(x)</code></pre>")


@pytest.mark.parametrize("hostile", [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "<a href='javascript:alert(1)'>x</a>",
    "[click](javascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD4=)",
    '[x](https://a.org/"onmouseover="alert(1))',
    "`<script>`",
    "```\n</code></pre><script>alert(1)</script>\n```",
    "**<iframe src=//evil>**",
    "<svg/onload=alert(1)>",
])
def test_markup_in_notes_is_shown_as_text(hostile):
    out = render(hostile)
    tags = re.findall(r"<\s*([a-zA-Z0-9]+)([^>]*)>", out)
    assert {name for name, _ in tags} <= {"p", "br", "code", "pre", "strong", "em", "a", "ul", "ol", "li",
                                          "h3", "h4", "h5"}
    for name, attrs in tags:
        if name == "a":
            assert re.fullmatch(r' href="https?://[^"]*" rel="nofollow noopener noreferrer"', attrs), attrs
        else:
            assert attrs == "", (name, attrs)
    assert "javascript:" not in "".join(a for _, a in tags)


def test_only_http_and_https_links_are_links():
    assert "<a " in render("[ok](http://example.org)")
    assert render("[no](ftp://example.org)") == "<p>[no](ftp://example.org)</p>"


def test_code_is_not_formatted_and_snake_case_stays():
    assert render("`**x**` my_var_name 2*3*4") == "<p><code>**x**</code> my_var_name 2*3*4</p>"


def test_empty_notes_render_nothing():
    assert render("") == "" and render("\n\n  \n") == ""


def test_the_tree_the_pages_build_holds_text_and_known_tags_only():
    from studies.markdown import TAGS, parse

    doc = parse("**hi** <img src=x onerror=alert(1)> [x](https://e.org)")
    assert doc == [["p", {}, [["strong", {}, ["hi"]], " <img src=x onerror=alert(1)> ",
                              ["a", {"href": "https://e.org"}, ["x"]]]]]

    def walk(node):
        if isinstance(node, str):
            return
        tag, attrs, children = node
        assert tag in TAGS and set(attrs) <= ({"href"} if tag == "a" else set())
        for child in children:
            walk(child)

    for block in parse("# <b>\n- *a* `<i>`\n\n```\n<script>\n```\n[y](javascript:x) _z_"):
        walk(block)
