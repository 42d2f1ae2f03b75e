"""Validate JSON against the API's OpenAPI document (JSON Schema 2020-12, as OpenAPI 3.1 uses).

The venv has no `jsonschema`; when it is installed this module uses its Draft202012Validator,
otherwise a small validator for exactly the keywords the document uses. The small one refuses a
keyword it does not know, so the document cannot quietly grow a rule that nobody checks.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

ANNOTATIONS = {"description", "title", "examples", "default"}
SUPPORTED = ANNOTATIONS | {
    "$ref", "type", "properties", "required", "additionalProperties", "items", "enum", "allOf", "anyOf",
    "oneOf", "minimum", "maximum", "exclusiveMinimum", "minLength", "maxLength", "format", "minItems", "maxItems",
}
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

try:  # pragma: no cover - depends on the environment
    from jsonschema import Draft202012Validator, FormatChecker
except ImportError:  # pragma: no cover
    Draft202012Validator = None


def resolve(document: dict[str, Any], pointer: str) -> Any:
    """Follow a local JSON pointer such as #/components/schemas/Error."""
    assert pointer.startswith("#/"), f"only local references are used, not {pointer}"
    node: Any = document
    for part in pointer[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _is_type(value: Any, kind: str) -> bool:
    """JSON type test (booleans are not numbers)."""
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    raise AssertionError(f"unknown type {kind}")


def _format_ok(value: str, fmt: str) -> bool:
    """date-time (RFC 3339) and date."""
    try:
        if fmt == "date-time":
            return bool(_DATE_TIME.match(value)) and dt.datetime.fromisoformat(value.replace("Z", "+00:00")) is not None
        if fmt == "date":
            return bool(_DATE.match(value)) and dt.date.fromisoformat(value) is not None
    except ValueError:
        return False
    raise AssertionError(f"unsupported format {fmt}")


def errors(value: Any, schema: Any, document: dict[str, Any], path: str = "$") -> list[str]:
    """Every way the value breaks the schema (empty when it conforms)."""
    if schema is True or schema == {}:
        return []
    if schema is False:
        return [f"{path}: nothing is allowed here"]
    unknown = set(schema) - SUPPORTED
    assert not unknown, f"schema keyword(s) {unknown} not supported by the test validator"
    found: list[str] = []
    if "$ref" in schema:
        found += errors(value, resolve(document, schema["$ref"]), document, path)
    if "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(value, k) for k in kinds):
            return [*found, f"{path}: {value!r} is not of type {kinds}"]
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                found.append(f"{path}: {name!r} is required")
        for name, item in value.items():
            if name in properties:
                found += errors(item, properties[name], document, f"{path}.{name}")
            elif "additionalProperties" in schema:
                found += errors(item, schema["additionalProperties"], document, f"{path}.{name}")
    if isinstance(value, list) and not schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", len(value)):
        found.append(f"{path}: {len(value)} items out of range")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found += errors(item, schema["items"], document, f"{path}[{index}]")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", len(value)):
            found.append(f"{path}: length {len(value)} out of range")
        if "format" in schema and not _format_ok(value, schema["format"]):
            found.append(f"{path}: {value!r} is not a {schema['format']}")
    if _is_type(value, "number"):
        if "minimum" in schema and value < schema["minimum"]:
            found.append(f"{path}: {value} < {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            found.append(f"{path}: {value} > {schema['maximum']}")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            found.append(f"{path}: {value} <= {schema['exclusiveMinimum']}")
    for sub in schema.get("allOf", []):
        found += errors(value, sub, document, path)
    if "anyOf" in schema and all(errors(value, sub, document, path) for sub in schema["anyOf"]):
        found.append(f"{path}: matches none of anyOf")
    if "oneOf" in schema:
        matching = sum(not errors(value, sub, document, path) for sub in schema["oneOf"])
        if matching != 1:
            found.append(f"{path}: matches {matching} of oneOf, not exactly 1")
    return found


def validate(value: Any, schema: dict[str, Any], document: dict[str, Any]) -> None:
    """Assert the value conforms to the schema, whose references point into the document."""
    problems = errors(value, schema, document)
    if Draft202012Validator is not None:  # pragma: no cover - when jsonschema is installed, ask it too
        root = {**schema, "components": document["components"]}
        checker = Draft202012Validator(root, format_checker=FormatChecker())
        problems += [f"jsonschema: {e.json_path}: {e.message}" for e in checker.iter_errors(value)]
    assert not problems, "response does not match the OpenAPI document:\n" + "\n".join(problems)


def walk_schemas(node: Any) -> list[dict[str, Any]]:
    """Every schema object reachable inside a schema (for checking keywords)."""
    found = [node] if isinstance(node, dict) else []
    if isinstance(node, dict):
        for key in ("properties",):
            for sub in node.get(key, {}).values():
                found += walk_schemas(sub)
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                found += walk_schemas(node[key])
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in node.get(key, []):
                found += walk_schemas(sub)
    return found
