"""``workflows example``: a payload template from a payload model's JSON schema.

Only the required fields appear, each with a placeholder of its type (``"<title>"`` for
text, a date's shape, the minimum of a number, ``false``, the first allowed value of an
enum), so a user can fill it in and pass it to ``--data``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["template"]

_DEPTH = 12
"""A recursive model stops here (with ``null``)."""
_FORMATS = {
    "date": "YYYY-MM-DD",
    "date-time": "YYYY-MM-DDTHH:MM:SS+00:00",
    "email": "name@example.org",
    "uri": "https://example.org",
}


def template(schema: dict[str, Any]) -> Any:
    """A placeholder value for ``schema`` (a model's ``model_json_schema()``)."""
    return _value(schema, schema.get("$defs", {}), "value", 0)


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return dict(defs.get(ref.rsplit("/", 1)[1], {}))
    for key in ("anyOf", "oneOf", "allOf"):
        options = [o for o in node.get(key, ()) if o.get("type") != "null"]
        if options:
            return _resolve(options[0], defs)
    return node


def _value(node: dict[str, Any], defs: dict[str, Any], name: str, depth: int) -> Any:
    node = _resolve(node, defs)
    if depth > _DEPTH:
        return None
    if "const" in node:
        return node["const"]
    if node.get("enum"):
        return node["enum"][0]
    kind = node.get("type")
    if kind == "object":
        props = node.get("properties", {})
        return {
            key: _value(props[key], defs, key, depth + 1)
            for key in node.get("required", ())
            if key in props
        }
    if kind == "array":
        count = max(1, int(node.get("minItems", 1)))
        return [_value(node.get("items", {}), defs, name, depth + 1) for _ in range(count)]
    return _scalar(node, name)


def _scalar(node: dict[str, Any], name: str) -> Any:
    kind = node.get("type")
    if kind == "integer":
        return int(node.get("minimum", node.get("exclusiveMinimum", -1) + 1))
    if kind == "number":
        return float(node.get("minimum", 0))
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    shape = _FORMATS.get(str(node.get("format", "")))
    return shape or f"<{node.get('title') or name}>"
