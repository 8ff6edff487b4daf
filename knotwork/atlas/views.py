"""Atlas pages: muscle index with search, muscle pages with referral maps, "what refers here?".

Read-only reference material with no client data, so the pages are public.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe

from knotwork.atlas import selectors
from knotwork.atlas.bodymap import render_bodymap
from knotwork.atlas.loader import atlas
from knotwork.care.library import library


def atlas_index(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:80]
    context = {
        "query": query,
        "results": selectors.search_muscles(query) if query else None,
        "groups": selectors.muscles_by_group(),
        "atlas_version": atlas().version,
        "counts": {"muscles": len(atlas().muscles), "trigger_points": len(atlas().trigger_points())},
    }
    template = "atlas/_search_results.html" if request.htmx and query else "atlas/index.html"  # type: ignore[attr-defined]
    return render(request, template, context)


def _views_for(cells: list[str]) -> tuple[str, ...]:
    data = atlas()
    needed = {data.region_by_id[c.split(":")[0]].view for c in cells}
    if "both" in needed or {"front", "back"} <= needed:
        return ("front", "back")
    return tuple(needed) or ("front", "back")


def _named(zones: list[Any]) -> list[dict[str, str]]:
    by_id = atlas().region_by_id
    return [{"id": z.region, "name": by_id[z.region].name, "laterality": str(z.laterality)} for z in zones]


def muscle_detail(request: HttpRequest, muscle_id: str) -> HttpResponse:
    muscle = atlas().muscle_by_id.get(muscle_id)
    if muscle is None:
        raise Http404("No such muscle")
    side = "left" if request.GET.get("side") == "left" else "right"
    patterns = []
    symptom_names = {sym.id: sym.name for sym in atlas().symptoms}
    for i, tp in enumerate(muscle.trigger_points):
        cells = selectors.zone_cells(tp, side)
        marker = selectors.location_cell(tp, side)
        svg = render_bodymap(categories=cells, markers=[marker], id_prefix=f"tp{i}", title=f"Referral pattern of {tp.name}",
                             views=_views_for([*cells, marker]), compact=True, legend=i == 0)
        patterns.append({
            "tp": tp,
            "map": mark_safe(svg),  # noqa: S308  (built by render_bodymap, which escapes every label)
            "location": atlas().region_by_id[tp.location.region],
            "essential": _named(tp.essential),
            "spillover": _named(tp.spillover),
            # Each entrapment with the skin areas where its numbness or tingling is felt, named.
            "entrapments": [(e, [atlas().region_by_id[r].name for r in e.regions]) for e in tp.entrapments],
            "symptoms": [symptom_names.get(sid, sid) for sid in tp.symptoms],
            # The exercise page the atlas names, or nothing: a bare slug means nothing to a reader.
            "self_care": library().by_id.get(tp.self_care) if tp.self_care else None,
        })
    context = {"muscle": muscle, "patterns": patterns, "side": side, "group": selectors.GROUP_LABELS[muscle.group]}
    return render(request, "atlas/muscle.html", context)


def refers_to(request: HttpRequest) -> HttpResponse:
    region_id = request.GET.get("region", "").split(":")[0]
    data = atlas()
    region = data.region_by_id.get(region_id)
    highlight = dict.fromkeys(selectors.region_json(region)["cells"], "essential") if region else {}
    context = {
        "regions": sorted(data.regions, key=lambda r: r.name),
        "region": region,
        "referrers": selectors.referrers(region.id) if region else [],
        "map": mark_safe(render_bodymap(categories=highlight, id_prefix="pick", legend=False,  # noqa: S308
                                        title="Choose a body region")),
        "unknown": bool(region_id) and region is None,
    }
    return render(request, "atlas/refers.html", context, status=404 if context["unknown"] else 200)
