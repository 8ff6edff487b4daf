from __future__ import annotations

import re

import pytest

from knotwork.learn.markup import plain_text, render_body, sanitise

# Classic XSS payloads (OWASP filter-evasion cheat sheet and friends), typed into the Markdown body.
PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg/onload=alert(1)>",
    "<body onload=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    '<a href="JaVaScRiPt:alert(1)">click</a>',
    '<a href="jav&#x09;ascript:alert(1)">click</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">click</a>',
    "[click](javascript:alert(1))",
    "[click](data:text/html,<script>alert(1)</script>)",
    '<iframe src="javascript:alert(1)"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<p style="color:red" onclick="alert(1)">x</p>',
    '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>',
    '<form action="javascript:alert(1)"><button>go</button></form>',
    '<input onfocus=alert(1) autofocus>',
    '<details open ontoggle=alert(1)>',
    "<<script>script>alert(1)<</script>/script>",
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    "<!--<img src=x onerror=alert(1)>-->",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<link rel="stylesheet" href="javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<a href="vbscript:msgbox(1)">x</a>',
    "<style>@import 'javascript:alert(1)';</style>",
    '<span data-kw-ref="muscle:upper-trapezius" onclick="alert(1)"></span>',
    '<span data-kw-ref="muscle:x&quot; onclick=&quot;alert(1)"></span>',
    '![x](javascript:alert(1))',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
]

DANGEROUS = [
    re.compile(r"<\s*(script|iframe|object|embed|style|svg|math|form|input|meta|link|base|img|body|details)\b", re.I),
    re.compile(r"\son[a-z]+\s*=", re.I),
    re.compile(r"\sstyle\s*=", re.I),
    re.compile(r"(href|src|action)\s*=\s*\"?\s*(javascript|data|vbscript):", re.I),
]


class SanitiserTests:
    @pytest.mark.parametrize("payload", PAYLOADS)
    def test_no_payload_survives_rendering(self, payload):
        # Our own body-map previews (SVG) follow the author's text; only the author's part is checked.
        html = render_body(f"Before\n\n{payload}\n\nAfter").html.split('<aside class="learn-muscles"')[0]
        for pattern in DANGEROUS:
            assert not pattern.search(html), f"{pattern.pattern} matched in {html!r}"

    @pytest.mark.parametrize("payload", PAYLOADS)
    def test_no_payload_survives_the_sanitiser_alone(self, payload):
        html = sanitise(payload)
        for pattern in DANGEROUS:
            assert not pattern.search(html), f"{pattern.pattern} matched in {html!r}"

    def test_there_are_enough_classic_payloads(self):
        assert len(PAYLOADS) >= 15

    def test_links_get_noopener_nofollow_and_keep_their_address(self):
        html = render_body("[guide](https://www.nhs.uk/conditions/back-pain/)").html
        assert '<a href="https://www.nhs.uk/conditions/back-pain/" rel="noopener nofollow">guide</a>' in html

    def test_relative_and_mailto_links_are_kept(self):
        html = render_body("[atlas](/atlas/) and [mail](mailto:clinic@example.com)").html
        assert 'href="/atlas/"' in html and 'href="mailto:clinic@example.com"' in html

    def test_ordinary_markdown_formatting_survives(self):
        html = render_body("## Heading\n\n**bold** *it*\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n> quote").html
        for tag in ("<h2>", "<strong>", "<em>", "<ul>", "<li>", "<table>", "<td>", "<blockquote>"):
            assert tag in html

    def test_an_authors_top_level_heading_becomes_a_section_heading(self):
        assert render_body("# Title").html.startswith("<h2>Title</h2>")


class ShortCodeTests:
    def test_a_muscle_reference_links_to_the_atlas_and_adds_a_body_map(self):
        rendered = render_body("Tension in the [[muscle:upper-trapezius]] often refers to the temple.")
        assert '<a class="learn-ref learn-ref-muscle" href="/atlas/muscles/upper-trapezius/">upper trapezius</a>' in rendered.html
        assert 'class="learn-muscles"' in rendered.html
        assert 'id="ref-upper-trapezius"' in rendered.html and "bm-marker" in rendered.html
        assert rendered.muscles == ("upper-trapezius",)

    def test_an_unknown_muscle_renders_as_plain_text(self):
        rendered = render_body("The [[muscle:not-a-muscle]] is made up.")
        assert "The not a muscle is made up." in rendered.html
        assert "learn-muscles" not in rendered.html and rendered.muscles == ()

    def test_an_exercise_links_to_its_library_page_and_an_unknown_one_stays_plain_text(self):
        html = render_body("Try [[exercise:chin-tuck]] twice a day, not [[exercise:made-up-move]].").html
        assert '<a class="learn-ref learn-ref-exercise" href="/learn/exercises/chin-tuck/">chin tuck</a>' in html
        assert '<span class="learn-ref learn-ref-exercise">made up move</span>' in html

    def test_short_codes_inside_code_stay_literal(self):
        html = render_body("Write `[[muscle:masseter]]` to link it.").html
        assert "<code>[[muscle:masseter]]</code>" in html and "learn-muscles" not in html

    def test_a_hand_written_placeholder_with_extra_attributes_is_not_expanded(self):
        html = render_body('<span data-kw-ref="muscle:masseter" title="x">hi</span>').html
        assert "learn-ref-muscle" not in html

    def test_each_muscle_gets_one_preview_and_previews_are_capped(self):
        ids = ["upper-trapezius", "masseter", "temporalis", "suboccipitals", "scalenes", "upper-trapezius"]
        rendered = render_body(" ".join(f"[[muscle:{m}]]" for m in ids))
        assert rendered.muscles == ("upper-trapezius", "masseter", "temporalis", "suboccipitals", "scalenes")
        assert rendered.html.count('class="learn-muscle-map"') == 4

    def test_plain_text_keeps_words_and_drops_markup(self):
        text = plain_text("## Title\n\nSee [[muscle:upper-trapezius]] and [a link](https://x.example/y).")
        assert "upper trapezius" in text and "x.example" not in text and "#" not in text
