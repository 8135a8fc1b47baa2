"""The package's shape: no import cycle, functions a reader can follow, a small CLI."""

import ast
from pathlib import Path

import pytest

# Numba and Triton kernels are one loop nest each: splitting them would cost speed.
KERNEL_DECORATORS = ("njit", "jit", "triton.jit")
MAX_FUNCTION_LINES = 80


def _modules(src: Path) -> dict[str, Path]:
    out = {}
    for p in src.rglob("*.py"):
        parts = p.relative_to(src.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


def import_graph(src: Path) -> dict[str, set[str]]:
    """module -> the package's modules it imports (anywhere in the file, inside functions too)."""
    mods = _modules(src)
    graph = {}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                target = ".".join(base + [node.module]) if node.module else ".".join(base)
                names = [target] + [f"{target}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            deps |= {n for n in names if n in mods and n != name}
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles: strongly connected components of more than one module (or a self-loop)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                found.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_on_known_graphs():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_in_the_package(repo):
    assert cycles(import_graph(repo / "src" / "deeplimits")) == []


def long_functions(src: Path, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    out = []
    for path in sorted(src.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            decorators = [ast.unparse(d.func if isinstance(d, ast.Call) else d) for d in node.decorator_list]
            if any(d in KERNEL_DECORATORS for d in decorators):
                continue
            lines = node.end_lineno - node.lineno + 1
            if lines > limit:
                out.append(f"{path.relative_to(src.parent)}:{node.name} ({lines} lines)")
    return out


def test_no_function_longer_than_a_reader_can_follow(repo):
    assert long_functions(repo / "src" / "deeplimits") == []


@pytest.mark.parametrize("limit, expected", [(3, ["pkg/m.py:f (4 lines)"]), (4, [])])
def test_long_function_finder(tmp_path, limit, expected):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text("def f():\n    a = 1\n    b = 2\n    return a + b\n\n"
                                           "@njit\ndef k():\n    a = 1\n    b = 2\n    return a + b\n")
    assert long_functions(tmp_path / "pkg", limit) == expected


def test_the_cli_is_a_table_of_subcommands(repo):
    assert len((repo / "src" / "deeplimits" / "cli.py").read_text().splitlines()) < 150
