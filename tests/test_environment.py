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
