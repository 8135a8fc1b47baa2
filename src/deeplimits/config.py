"""Load, resolve and validate the pipeline configuration.

The config has one switch, `scale`. Any mapping in it may hold blocks named after
the scales (`smoke:`, `quick:`, `paper:`); resolving a scale merges that block
over its parent and drops the others. The resolved config is validated against
workflow/schemas/config.schema.yaml (defaults filled in), for every scale, so a
typo in the paper block is caught by a smoke run too.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCALES = ("smoke", "quick", "paper")
REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml"
DEFAULT_CONFIG_PATH = REPO_ROOT / "config.yaml"


class ConfigError(ValueError):
    """Bad configuration: the message names every bad key and what it allows."""


def load_schema(path: str | Path = SCHEMA_PATH) -> dict:
    return yaml.safe_load(Path(path).read_text())


def load_config(path: str | Path = DEFAULT_CONFIG_PATH, overrides: dict | None = None) -> dict:
    """Read a YAML config, apply overrides (as `snakemake --config` would) and resolve it."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {err}") from err
    merged = deep_merge(raw, overrides or {})
    return resolve(merged)


def deep_merge(base: dict, update: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def select_scale(tree: Any, scale: str) -> Any:
    """Merge each mapping's `<scale>:` block into it and drop the other scale blocks."""
    if isinstance(tree, list):
        return [select_scale(item, scale) for item in tree]
    if not isinstance(tree, dict):
        return tree
    base = {k: select_scale(v, scale) for k, v in tree.items() if k not in SCALES}
    block = tree.get(scale)
    if isinstance(block, dict):
        base = deep_merge(base, select_scale(block, scale))
    return base


def resolve(config: dict, schema: dict | None = None) -> dict:
    """Validate `config` for every scale and return it resolved for its own scale."""
    if not isinstance(config, dict):
        raise ConfigError("the config must be a mapping of keys to values")
    schema = schema or load_schema()
    config = _booleans(config)
    scale = config.get("scale", "quick")
    if scale not in SCALES:
        raise ConfigError(
            f"config key 'scale' has value {scale!r}; allowed values: {', '.join(SCALES)}"
        )
    errors: dict[str, list[str]] = {}
    resolved_for_scale = None
    for candidate in SCALES:
        resolved = select_scale(config, candidate)
        resolved["scale"] = candidate
        for msg in _validate(resolved, schema):
            errors.setdefault(msg, []).append(candidate)
        if candidate == scale:
            resolved_for_scale = resolved
    if errors:
        lines = [f"{msg} (scale: {', '.join(scales)})" for msg, scales in errors.items()]
        raise ConfigError("invalid configuration:\n  - " + "\n  - ".join(lines))
    return resolved_for_scale


def _booleans(tree: Any) -> Any:
    """`snakemake --config progress=false` passes the string 'false'; read it as YAML would."""
    if isinstance(tree, dict):
        return {k: _booleans(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_booleans(v) for v in tree]
    if isinstance(tree, str) and tree.lower() in ("true", "false"):
        return tree.lower() == "true"
    return tree


def config_hash(config: dict) -> str:
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _validate(instance: dict, schema: dict) -> list[str]:
    validator_cls = _with_defaults(jsonschema.Draft202012Validator)
    validator = validator_cls(schema)
    return [_describe(err) for err in sorted(validator.iter_errors(instance), key=_error_key)]


def _error_key(err: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in err.absolute_path)


def _with_defaults(base_cls):
    """A validator that also fills in `default` values of absent properties."""
    validate_properties = base_cls.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if isinstance(sub, dict) and "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(base_cls, {"properties": set_defaults})


def _describe(err: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in err.absolute_path)
    key = f"config key '{path}'" if path else "the config"
    kind = err.validator
    if kind == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed))
        prefix = f"{path}." if path else ""
        names = ", ".join(f"'{prefix}{name}'" for name in extra)
        return f"unknown config key {names}; allowed keys here: {', '.join(allowed)}"
    if kind == "enum":
        allowed = ", ".join(str(v) for v in err.validator_value)
        return f"{key} has value {err.instance!r}; allowed values: {allowed}"
    if kind == "type":
        return (
            f"{key} must be of type {err.validator_value}, "
            f"got {err.instance!r} ({type(err.instance).__name__})"
        )
    if kind in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        op = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}[kind]
        return f"{key} must be {op} {err.validator_value}, got {err.instance!r}"
    if kind == "required":
        return f"{key} is missing a required key: {err.message.split(' ')[0]}"
    if kind == "minItems":
        return f"{key} needs at least {err.validator_value} item(s), got {err.instance!r}"
    return f"{key}: {err.message}"
