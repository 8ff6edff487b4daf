from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from knotwork.atlas import selectors
from knotwork.atlas.loader import AtlasDataError, atlas
from knotwork.atlas.services import atlas_load


class Command(BaseCommand):
    help = "The trigger-point atlas: load it into the database, or print regions and muscles."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("load", help="validate the data files and load them (idempotent)")
        for name, text in (("regions", "the 85 body regions and their cells"), ("list", "every muscle and its trigger points")):
            p = sub.add_parser(name, help=text)
            p.add_argument("--json", action="store_true")
        show = sub.add_parser("show", help="one muscle in full")
        show.add_argument("muscle_id")
        show.add_argument("--json", action="store_true")
        refers = sub.add_parser("refers-to", help="muscles whose trigger points refer to a region")
        refers.add_argument("region_id")
        refers.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            data = atlas()
        except AtlasDataError as exc:
            raise CommandError(f"the atlas data is invalid: {exc}") from None
        action = options["action"]
        if action == "load":
            report = atlas_load(data=data)
            verb = "loaded" if report.created else "already loaded"
            self.stdout.write(
                f"atlas {report.version} {verb}: {report.regions} regions, {report.muscles} muscles, "
                f"{report.trigger_points} trigger points" + (f", {report.retired} retired" if report.retired else "")
            )
        elif action == "regions":
            self._regions(options["json"])
        elif action == "list":
            self._list(options["json"])
        elif action == "show":
            self._show(options["muscle_id"], options["json"])
        else:
            self._refers(options["region_id"], options["json"])

    def _json(self, payload: object) -> None:
        self.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False))

    def _regions(self, as_json: bool) -> None:
        payload = selectors.regions_json()
        if as_json:
            return self._json(payload)
        for r in payload["regions"]:
            self.stdout.write(f"{r['id']:<22} {r['kind']:<8} {r['view']:<6} {r['wpi'] or '-':<16} {r['name']}")
        return None

    def _list(self, as_json: bool) -> None:
        payload = selectors.muscles_json()
        if as_json:
            return self._json(payload)
        for m in payload["muscles"]:
            self.stdout.write(f"{m['id']:<36} {len(m['trigger_points'])} TrP  {m['name']}")
        tps = sum(len(m["trigger_points"]) for m in payload["muscles"])
        self.stdout.write(f"{len(payload['muscles'])} muscles, {tps} trigger points (atlas {payload['atlas_version']})")
        return None

    def _show(self, muscle_id: str, as_json: bool) -> None:
        payload = selectors.muscle_json(muscle_id)
        if payload is None:
            raise CommandError(f"no muscle {muscle_id!r}; `knotwork atlas list` shows the ids")
        if as_json:
            return self._json(payload)
        self.stdout.write(f"{payload['name']} ({payload['id']}) — {payload['innervation']}")
        for tp in payload["trigger_points"]:
            ess = ", ".join(_zone_text(z) for z in tp["essential"])
            spill = ", ".join(_zone_text(z) for z in tp["spillover"]) or "—"
            self.stdout.write(f"  {tp['id']}: {tp['name']}\n    essential: {ess}\n    spillover: {spill}")
        return None

    def _refers(self, region_id: str, as_json: bool) -> None:
        region_id = region_id.split(":")[0]
        try:
            payload = selectors.referrers_json(region_id)
        except KeyError:
            raise CommandError(f"no region {region_id!r}; `knotwork atlas regions` lists them") from None
        if as_json:
            return self._json(payload)
        self.stdout.write(f"Trigger points that refer to the {payload['region']['name']}:")
        for zone in ("essential", "spillover"):
            self.stdout.write(f"  {zone}:")
            for r in payload[zone]:
                lat = "" if r["laterality"] == "ipsilateral" else f" ({r['laterality']})"
                self.stdout.write(f"    {r['muscle_name']} — {r['trigger_point_name']}{lat}")
            if not payload[zone]:
                self.stdout.write("    none")
        return None


def _zone_text(z: dict[str, str]) -> str:
    return z["region"] + ("" if z["laterality"] == "ipsilateral" else f" ({z['laterality']})")
