import copy

import pytest
import yaml

from deeplimits.config import ConfigError, load_config, resolve, select_scale


@pytest.fixture
def raw(repo):
    return yaml.safe_load((repo / "config.yaml").read_text())


def test_default_config_resolves_to_quick_with_scale_blocks_merged(raw):
    cfg = resolve(copy.deepcopy(raw))
    assert cfg["scale"] == "quick"
    # The quick block of hz2 overrides the paper-sized base.
    assert cfg["experiments"]["hz2"]["dataset"] == "digits"
    assert "quick" not in cfg["experiments"]["hz2"] and "paper" not in cfg["experiments"]["hz2"]
    # Defaults from the schema are filled in.
    assert cfg["experiments"]["hz2"]["branch_layers"] == 2


def test_each_scale_selects_its_own_sizes(raw):
    sizes = {s: resolve(dict(copy.deepcopy(raw), scale=s))["data"]["random_images"]["channels"]
             for s in ("smoke", "quick", "paper")}
    assert sizes == {"smoke": 4, "quick": 16, "paper": 128}


def test_select_scale_merges_nested_blocks():
    tree = {"a": 1, "b": {"c": 2, "smoke": {"c": 3}}, "smoke": {"a": 5}}
    assert select_scale(tree, "smoke") == {"a": 5, "b": {"c": 3}}
    assert select_scale(tree, "paper") == {"a": 1, "b": {"c": 2}}


def _error(raw, **patch) -> str:
    cfg = copy.deepcopy(raw)
    for dotted, value in patch.items():
        node = cfg
        *parents, last = dotted.split("__")
        for p in parents:
            node = node[p]
        node[last] = value
    with pytest.raises(ConfigError) as info:
        resolve(cfg)
    return str(info.value)


def test_unknown_scale_names_key_and_allowed_values(raw):
    msg = _error(raw, scale="huge")
    assert "'scale'" in msg and "smoke, quick, paper" in msg


def test_unknown_key_is_named_with_allowed_keys(raw):
    msg = _error(raw, experiments__hz1__colour="red")
    assert "experiments.hz1.colour" in msg and "alphas" in msg


def test_wrong_type_names_key(raw):
    msg = _error(raw, seed="abc")
    assert "config key 'seed'" in msg and "integer" in msg


@pytest.mark.parametrize("depth", [0, -3])
def test_non_positive_depth_is_refused(raw, depth):
    msg = _error(raw, experiments__hz2__depth=depth)
    # The quick and smoke blocks override depth, so the error is reported for paper.
    assert "experiments.hz2.depth" in msg and ">= 1" in msg and "paper" in msg


def test_non_positive_depth_in_a_list_is_refused(raw):
    msg = _error(raw, experiments__crx1__depths=[16, 0])
    assert "experiments.crx1.depths.1" in msg


def test_unknown_dataset_lists_known_ones(raw):
    msg = _error(raw, experiments__hz4__dataset="imagenet")
    assert "experiments.hz4.dataset" in msg and "cifar10" in msg and "digits" in msg


def test_bad_mirror_scheme_is_refused(raw):
    msg = _error(raw, data__mirrors__mnist=["ftp://example.org/"])
    assert "data.mirrors.mnist.0" in msg


def test_string_booleans_from_the_command_line_are_read_as_booleans(raw):
    cfg = resolve(dict(copy.deepcopy(raw), progress="false"))
    assert cfg["progress"] is False


def test_load_config_reports_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_load_config_applies_overrides(repo):
    cfg = load_config(repo / "config.yaml", {"scale": "smoke", "experiments": {"hz1": {"fit_from": 7}}})
    assert cfg["scale"] == "smoke" and cfg["experiments"]["hz1"]["fit_from"] == 7


def test_a_scale_block_beats_the_base_value_so_overrides_go_into_the_block(repo):
    base_only = load_config(repo / "config.yaml", {"scale": "smoke", "experiments": {"hz1": {"depth": 7}}})
    assert base_only["experiments"]["hz1"]["depth"] == 100  # the smoke block sets depth
    in_block = load_config(repo / "config.yaml",
                           {"scale": "smoke", "experiments": {"hz1": {"smoke": {"depth": 7}}}})
    assert in_block["experiments"]["hz1"]["depth"] == 7


def _schema_keys(node, defs, path=()):
    """Every settable key of the schema (scale blocks aside), as dotted paths."""
    while "$ref" in node and len(node) == 1:
        node = defs[node["$ref"].split("/")[-1]]
    for key, sub in node.get("properties", {}).items():
        if key in ("smoke", "quick", "paper"):
            continue
        yield ".".join((*path, key))
        yield from _schema_keys(sub, defs, (*path, key))


# Maps that hold data, not settings (mirror lists and checksums per dataset, depth limits per
# run): their entries are not documented one by one.
FREE_FORM = {"mirrors", "checksums", "sensitivity_max_depth"}


def _config_keys(node, path=()):
    for key, sub in node.items():
        if key in ("smoke", "quick", "paper"):
            continue
        yield ".".join((*path, key))
        if isinstance(sub, dict) and key not in FREE_FORM:
            yield from _config_keys(sub, (*path, key))


def test_every_schema_key_is_documented_in_config_yaml_and_no_other(repo):
    """Defaults live in the schema, and config.yaml shows every key with its value, so a reader
    sees every setting in one file; a key the schema lacks would be refused anyway."""
    schema = yaml.safe_load((repo / "workflow" / "schemas" / "config.schema.yaml").read_text())
    raw = yaml.safe_load((repo / "config.yaml").read_text())
    in_schema = set(_schema_keys(schema, schema.get("$defs", {})))
    in_config = set(_config_keys(raw))
    free = {k for k in in_schema if set(k.split(".")[:-1]) & FREE_FORM}
    assert sorted(in_schema - in_config - free) == []
    assert sorted(in_config - in_schema) == []


def test_the_package_reads_settings_without_defaults_of_its_own(repo):
    """No `settings.get(key, default)` in the analyses and builders: a missing key is the
    schema's business (it fills every default), never a silent second default here."""
    import re

    files = [*(repo / "src" / "deeplimits" / "analysis").glob("*.py"), repo / "src" / "deeplimits" / "cells.py"]
    hits = [f"{f.name}: {m.group(0)}" for f in files for m in re.finditer(r"settings\.get\([^)]*\)", f.read_text())]
    assert hits == []
