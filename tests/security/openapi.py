"""The API's own OpenAPI description, and the smallest request body it accepts for an operation."""

from __future__ import annotations

import re
from functools import cache
from typing import Any


@cache
def schema() -> dict[str, Any]:
    from config.api import api

    return api.get_openapi_schema()


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = schema()["components"]["schemas"][name]
    return node


def _hints() -> dict[str, Any]:
    """Real reference ids for properties that name atlas rows (a made-up id fails validation early)."""
    from knotwork.atlas.models import Muscle, TriggerPoint

    tp = TriggerPoint.objects.order_by("pk").first()
    muscle = Muscle.objects.order_by("pk").first()
    return {"trigger_point": tp.pk if tp else "x", "muscle": muscle.pk if muscle else "x"}


def minimal(node: dict[str, Any], depth: int = 0, name: str = "") -> Any:
    """A value that satisfies ``node``: required properties only, smallest allowed sizes."""
    if name in ("trigger_point", "muscle") and _resolve(node).get("type") == "string":
        return _hints()[name]
    node = _resolve(node)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in node:
            options = [o for o in node[key] if _resolve(o).get("type") != "null"] or node[key]
            return minimal(options[0], depth + 1)
    if "enum" in node:
        return node["enum"][0]
    if "const" in node:
        return node["const"]
    if "default" in node and depth > 0:
        return node["default"]
    kind = node.get("type", "object")
    if kind == "object":
        props = node.get("properties", {})
        return {k: minimal(props[k], depth + 1, k) for k in node.get("required", []) if k in props}
    if kind == "array":
        return [minimal(node.get("items", {}), depth + 1) for _ in range(node.get("minItems", 0))]
    if kind == "integer":
        return max(node.get("minimum", 1), 1 if node.get("exclusiveMinimum") is None else node["exclusiveMinimum"] + 1)
    if kind == "number":
        return node.get("minimum", 1)
    if kind == "boolean":
        return False
    fmt = node.get("format")
    if fmt == "date-time":
        return "2030-01-07T10:00:00Z"
    if fmt == "date":
        return "2030-01-07"
    if fmt == "email":
        return "someone@mail.example"
    return "x" * max(node.get("minLength", 1), 1)


def openapi_path(route: str) -> str:
    """Django pattern ``api/clients/<client_id>`` -> OpenAPI ``/api/clients/{client_id}``."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def tiny_png() -> bytes:
    from io import BytesIO

    from PIL import Image

    buf = BytesIO()
    Image.new("RGB", (64, 64), "white").save(buf, "PNG")
    return buf.getvalue()


def request_kwargs(route: str, method: str) -> dict[str, Any]:
    """Keyword arguments for Django's test client: the smallest valid JSON or multipart body."""
    import json

    from django.core.files.uploadedfile import SimpleUploadedFile

    op = schema()["paths"].get(openapi_path(route), {}).get(method)
    content = op["requestBody"]["content"] if op and "requestBody" in op else {}
    if "multipart/form-data" in content:
        data = minimal(content["multipart/form-data"]["schema"])
        for key, prop in content["multipart/form-data"]["schema"].get("properties", {}).items():
            if prop.get("format") == "binary":
                data[key] = SimpleUploadedFile("x.png", tiny_png(), content_type="image/png")
        return {"data": data}
    body = minimal(content["application/json"]["schema"]) if "application/json" in content else {}
    return {"data": json.dumps(body), "content_type": "application/json"}
