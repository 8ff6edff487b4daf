"""Article bodies: Markdown to sanitised HTML, and the atlas short codes.

``render_body(markdown)`` is called when an article is saved (and for the editor's preview),
never when a page is viewed. The steps, in this order:

1. Markdown (``markdown`` package) turns the body into HTML. ``[[muscle:upper-trapezius]]`` and
   ``[[exercise:chin-tuck]]`` become empty ``<span data-kw-ref="...">`` placeholders; inside code
   they stay literal text.
2. nh3 sanitises that HTML against an allow-list: no script, no style, no event handlers, no
   images or frames, only http(s)/mailto and relative links, each link with
   ``rel="noopener nofollow"``. Raw HTML typed into the Markdown goes through the same filter.
3. Only then are the placeholders expanded into our own markup: a link to the atlas muscle page,
   and a small body map per referenced muscle at the end. Ids are restricted to ``[a-z0-9-]`` by
   the pattern, so nothing an author types reaches the expanded markup unescaped; an unknown id
   renders as plain text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree  # noqa: S405  (building elements for Markdown, never parsing input)
from dataclasses import dataclass
from html import escape

import markdown
import nh3
from django.urls import reverse
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor

from knotwork.atlas.bodymap import render_bodymap
from knotwork.atlas.loader import atlas
from knotwork.atlas.selectors import location_cell, zone_cells
from knotwork.care.library import library

MAX_BODY_CHARS = 60_000
MAX_MAPS = 4  # body-map previews per article: each is about 70 kB of SVG before compression

REF_ID = r"[a-z0-9][a-z0-9-]{0,59}"
SHORTCODE_RE = rf"\[\[(muscle|exercise):({REF_ID})\]\]"
_PLACEHOLDER_RE = re.compile(rf'<span data-kw-ref="(muscle|exercise):({REF_ID})"></span>')
_REF_VALUE_RE = re.compile(rf"^(muscle|exercise):{REF_ID}$")

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "blockquote",
    "ul", "ol", "li", "a", "code", "pre", "table", "thead", "tbody", "tr", "th", "td",
    "abbr", "sup", "sub", "del", "span", "dl", "dt", "dd",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "ol": {"start"}, "span": {"data-kw-ref"}}
URL_SCHEMES = {"http", "https", "mailto"}


def _keep_attribute(tag: str, attr: str, value: str) -> str | None:
    if attr == "data-kw-ref":
        return value if _REF_VALUE_RE.match(value) else None
    if attr == "start":
        return value if value.isdigit() and len(value) < 6 else None
    return value


_CLEANER = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    url_schemes=URL_SCHEMES,
    link_rel="noopener nofollow",
    strip_comments=True,
    clean_content_tags={"script", "style", "template", "iframe", "object", "embed", "noscript", "textarea", "select", "svg", "math"},
    attribute_filter=_keep_attribute,
)


def sanitise(html: str) -> str:
    """HTML from any source reduced to the article allow-list."""
    return _CLEANER.clean(html)


class _RefProcessor(InlineProcessor):
    def handleMatch(self, m: re.Match[str], data: str) -> tuple[etree.Element, int, int]:  # noqa: N802  (Markdown's API)
        el = etree.Element("span")
        el.set("data-kw-ref", f"{m.group(1)}:{m.group(2)}")
        return el, m.start(0), m.end(0)


class RefExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802  (Markdown's API)
        # Above links (160), so "[[" is never read as the start of a link.
        md.inlinePatterns.register(_RefProcessor(SHORTCODE_RE, md), "kw_ref", 175)


@dataclass(frozen=True)
class Rendered:
    html: str
    muscles: tuple[str, ...]  # known muscle ids referenced, in order of first mention


def _markdown(text: str) -> str:
    md = markdown.Markdown(extensions=["tables", "fenced_code", "sane_lists", "smarty", RefExtension()], output_format="html")
    html = md.convert(text)
    # The article title is the page's only <h1>; an author's "# Heading" becomes a section heading.
    return re.sub(r"<(/?)h1\b", r"<\1h2", html)


def humanise(ref_id: str) -> str:
    return ref_id.replace("-", " ")


def _expand(kind: str, ref_id: str, seen: list[str]) -> str:
    if kind == "muscle":
        muscle = atlas().muscle_by_id.get(ref_id)
        if muscle is None:
            return escape(humanise(ref_id))
        if ref_id not in seen:
            seen.append(ref_id)
        return _ref_link("muscle", reverse("muscle_detail", kwargs={"muscle_id": ref_id}), muscle.name)
    exercise = library().by_id.get(ref_id)
    if exercise is None:  # not (or no longer) in the library: plain words
        return f'<span class="learn-ref learn-ref-exercise">{escape(humanise(ref_id))}</span>'
    return _ref_link("exercise", reverse("exercise_detail", kwargs={"exercise_id": ref_id}), exercise.name)


def _ref_link(kind: str, href: str, name: str) -> str:
    """A short code's link, its name in lower case as it sits mid-sentence ("the upper trapezius")."""
    return f'<a class="learn-ref learn-ref-{kind}" href="{escape(href)}">{escape(name[:1].lower() + name[1:])}</a>'


def _preview_view(marker: str, zones: dict[str, str]) -> str:
    """One view per preview, to keep the page light: where the trigger point is, else where most pain goes."""
    by_id = atlas().region_by_id
    view = str(by_id[marker.split(":")[0]].view)
    if view in ("front", "back"):
        return view
    views = [str(by_id[c.split(":")[0]].view) for c in zones]
    return "back" if views.count("back") > views.count("front") else "front"


def muscle_preview(muscle_id: str) -> str:
    """A small body map of the muscle's first trigger point (right side) with a link to its page."""
    muscle = atlas().muscle_by_id[muscle_id]
    tp = muscle.trigger_points[0]
    zones = zone_cells(tp, "right")
    marker = location_cell(tp, "right")
    svg = render_bodymap(
        categories=zones,
        markers=[marker],
        views=(_preview_view(marker, zones),),
        id_prefix=f"ref-{muscle_id}",
        title=f"Where the {muscle.name} trigger point usually sends pain",
        legend=False,
        compact=True,
    )
    href = escape(reverse("muscle_detail", kwargs={"muscle_id": muscle_id}))
    return (
        f'<figure class="learn-muscle-map">{svg}<figcaption><a href="{href}">{escape(muscle.name)}</a>: '
        "where its first trigger point (✕) usually sends pain (solid) and sometimes (hatched).</figcaption></figure>"
    )


def render_body(text: str) -> Rendered:
    """Markdown → sanitised HTML with the short codes expanded (see the module docstring)."""
    clean = sanitise(_markdown(text))
    seen: list[str] = []
    html = _PLACEHOLDER_RE.sub(lambda m: _expand(m.group(1), m.group(2), seen), clean)
    if seen:
        maps = "".join(muscle_preview(mid) for mid in seen[:MAX_MAPS])
        html += f'<aside class="learn-muscles" aria-label="Muscles in this article"><h2>Muscles in this article</h2>{maps}</aside>'
    return Rendered(html=html, muscles=tuple(seen))


def plain_text(text: str) -> str:
    """The words of a Markdown body for similarity and search: no markup, short codes as names."""
    text = re.sub(SHORTCODE_RE, lambda m: " " + humanise(m.group(2)) + " ", text)
    text = re.sub(r"\]\([^)]*\)", "] ", text)  # link targets
    text = re.sub(r"<[^>]{0,200}>", " ", text)
    return re.sub(r"[#*_`>|\[\]~-]+", " ", text)
