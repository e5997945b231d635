"""The published JSON Schema of an alert (``lalert/alert.schema.json``), validation
against it, and the check that it never drifts from the model.

The file is written by hand because it says more than the model's types can: the
vocabularies (kinds, states, area-code schemes), time and digest patterns, descriptions.
What the model *does* say — which keys each object has, which are required, and each
value's JSON types — is compared with ``msgspec.json.schema`` of the model by
``drift()`` (run by the tests), so a field added, renamed, retyped or made optional in
``lalert.model`` fails until the schema says the same.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

RESOURCE = "alert.schema.json"  # inside the lalert package, read through importlib.resources


@lru_cache(maxsize=1)
def alert_schema() -> dict[str, Any]:
    """The published schema (``lalert/alert.schema.json``, shipped inside the package)."""
    return json.loads(resources.files("lalert").joinpath(RESOURCE).read_text("utf-8"))


def validation_errors(doc: dict[str, Any]) -> list[str]:
    """Every schema violation as 'path: message' (empty list when valid)."""
    from jsonschema import Draft202012Validator

    v = Draft202012Validator(alert_schema())
    return [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in v.iter_errors(doc)]


# --- drift between the published schema and the model ----------------------------------


def drift(schema: dict[str, Any] | None = None) -> list[str]:
    """Where the published schema and the model (``lalert.model.Alert``, as msgspec
    describes it) disagree, one line each; empty when they agree."""
    import msgspec

    from lalert.model import SCHEMA_ID, SCHEMA_VERSION, Alert

    schema = alert_schema() if schema is None else schema
    model = msgspec.json.schema(Alert)
    defs = model.get("$defs", {})
    out: list[str] = []
    if schema.get("x-version") != SCHEMA_VERSION:
        out.append(f"x-version {schema.get('x-version')!r} != model.SCHEMA_VERSION "
                   f"{SCHEMA_VERSION!r}")
    if schema.get("properties", {}).get("schema") != {"const": SCHEMA_ID}:
        out.append(f"properties.schema is not {{'const': {SCHEMA_ID!r}}}")
    published = {**schema, "properties": {k: v for k, v in schema.get("properties", {}).items()
                                           if k != "schema"}}
    _compare_object("", published, _deref(model, defs), defs, out)
    return out


def _deref(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    return defs[ref.rsplit("/", 1)[-1]] if ref else node


def _compare_object(path: str, pub: dict[str, Any], model: dict[str, Any],
                    defs: dict[str, Any], out: list[str]) -> None:
    pprops, mprops = pub.get("properties", {}), model.get("properties", {})
    for k in sorted(set(mprops) - set(pprops)):
        out.append(f"{path or '/'}: the model has {k!r}, the schema does not")
    for k in sorted(set(pprops) - set(mprops)):
        out.append(f"{path or '/'}: the schema has {k!r}, the model does not")
    if pub.get("additionalProperties") is not False:
        out.append(f"{path or '/'}: the schema allows other properties")
    # the encoder writes every field, so the schema may require any; it must require
    # what the model cannot do without
    for k in sorted(set(model.get("required", ())) - set(pub.get("required", ()))):
        out.append(f"{path}/{k}: required by the model, optional in the schema")
    for k in sorted(set(pprops) & set(mprops)):
        _compare_value(f"{path}/{k}", pprops[k], mprops[k], defs, out)


def _compare_value(path: str, pub: dict[str, Any], model: dict[str, Any],
                   defs: dict[str, Any], out: list[str]) -> None:
    model = _deref(model, defs)
    ptypes, mtypes = _types(pub), _types(model, defs) or set()
    if ptypes is None:
        out.append(f"{path}: the schema does not say its type")
    elif ptypes != mtypes:
        out.append(f"{path}: schema types {sorted(ptypes)} != the model's {sorted(mtypes)}")
    if mtypes - {"null"} <= {"object"} and _is_struct(model, defs):
        _compare_object(path, _non_null(pub), _non_null_model(model, defs), defs, out)
    if "array" in mtypes and "items" in model and "items" in pub:
        item = _deref(model["items"], defs)
        if _is_struct(item, defs):
            _compare_object(f"{path}[]", pub["items"], item, defs, out)
        else:
            _compare_value(f"{path}[]", pub["items"], item, defs, out)


def _is_struct(model: dict[str, Any], defs: dict[str, Any]) -> bool:
    return "properties" in _non_null_model(model, defs)


def _non_null_model(model: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    for alt in model.get("anyOf", ()):
        alt = _deref(alt, defs)
        if alt.get("type") != "null":
            return alt
    return model


def _non_null(pub: dict[str, Any]) -> dict[str, Any]:
    for alt in pub.get("anyOf", ()):
        if alt.get("type") != "null":
            return alt
    return pub


def _types(node: dict[str, Any], defs: dict[str, Any] | None = None) -> set[str] | None:
    """The JSON types a schema node admits; None when it does not say."""
    if defs is not None:
        node = _deref(node, defs)
    if "anyOf" in node:
        found: set[str] = set()
        for alt in node["anyOf"]:
            t = _types(alt, defs)
            if t is None:
                return None
            found |= t
        return found
    if "const" in node:
        return {_json_type(node["const"])}
    if "enum" in node:
        return {_json_type(v) for v in node["enum"]}
    t = node.get("type")
    if t is None:
        return None
    found = {t} if isinstance(t, str) else set(t)
    if "number" in found:
        found.add("integer")  # a JSON number may be written without a fraction
    return found


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(v)]
