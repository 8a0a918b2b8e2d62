"""The package's folders are the pipeline (docs/architecture.md): a module imports only from its
own folder or from folders before it, and no two modules import each other, directly or around
a loop, even through imports inside functions. Read from the source with ``ast``, so a lazy
import that would close a circle is caught before anyone calls it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "accelsim"
# the pipeline, first to last; a folder may import from itself and from any earlier one
STAGES = ["common", "workload", "hardware", "engine", "evaluate", "explore", "report", "check",
          "api", "cli"]
# top-level modules outside the stages: the package's own entry points
TOP = {"accelsim", "accelsim.__main__", "accelsim._moved"}


def _modules() -> dict[str, Path]:
    mods = {}
    for p in sorted(PKG.rglob("*.py")):
        if "__pycache__" in p.parts:
            continue
        parts = list(p.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = p
    return mods


def _imports(mod: str, path: Path) -> list[tuple[str, int]]:
    """Every accelsim module ``mod`` imports, with its line: ``from P import n`` counts as the
    module P.n where that is a module, else as P (relative imports resolved)."""
    mods = _modules()
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [f"{target}.{a.name}" if f"{target}.{a.name}" in mods else target
                     for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        out += [(n, node.lineno) for n in names if n.split(".")[0] == "accelsim"]
    return out


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    graph = {m: set() for m in mods}
    for m, p in mods.items():
        for target, _ in _imports(m, p):
            if target in mods and target != m:
                graph[m].add(target)
    return graph


def _stage(mod: str) -> int | None:
    if mod in TOP:
        return None
    return STAGES.index(mod.split(".")[1])


def test_every_module_is_in_a_stage_folder():
    loose = [m for m in _modules() if m not in TOP and m.split(".")[1] not in STAGES]
    assert loose == [], f"modules outside the pipeline's folders: {loose}"


def test_imports_run_one_way_along_the_pipeline():
    mods = _modules()
    bad = []
    for m, p in mods.items():
        s = _stage(m)
        if s is None:
            continue
        for target, line in _imports(m, p):
            if target == "accelsim":   # the package root: __version__ (loaded before any module)
                continue
            if target in TOP:
                bad.append(f"{m}:{line} imports the package entry {target}")
                continue
            if target not in mods:
                bad.append(f"{m}:{line} imports {target}, a moved module's old path")
                continue
            t = _stage(target)
            if t is not None and t > s:
                bad.append(f"{m}:{line} ({STAGES[s]}) imports {target} ({STAGES[t]})")
    assert bad == [], "imports against the pipeline:\n" + "\n".join(bad)


def test_no_import_circle():
    graph = _graph()
    # Tarjan's strongly connected components: a component of more than one module is a circle
    index, low, stack, on, comps = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
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
            comps.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    circles = [sorted(c) for c in comps if len(c) > 1]
    # a package's __init__ re-exporting its own module is not a circle in the code's meaning
    circles = [c for c in circles if not all(x == c[0] or x.startswith(c[0] + ".") for x in c)]
    assert circles == [], f"import circles: {circles}"


def test_the_checker_sees_a_circle_and_a_backward_import(tmp_path, monkeypatch):
    """The two checks above can fail: a fake package with engine -> evaluate and a circle."""
    fake = tmp_path / "accelsim"
    (fake / "engine").mkdir(parents=True)
    (fake / "evaluate").mkdir()
    for d in (fake, fake / "engine", fake / "evaluate"):
        (d / "__init__.py").write_text("")
    (fake / "engine" / "a.py").write_text("def f():\n    from accelsim.evaluate import b\n")
    (fake / "evaluate" / "b.py").write_text("from ..engine import a\n")
    monkeypatch.setattr(__import__(__name__), "PKG", fake)
    with pytest.raises(AssertionError, match="engine/|a:2"):
        test_imports_run_one_way_along_the_pipeline()
    with pytest.raises(AssertionError, match="import circles"):
        test_no_import_circle()


def test_old_module_paths_forward_and_warn():
    """Pre-0.2 paths (accelsim/_moved.py) still import, name the same objects, and warn; the two
    API modules are callable and do not warn."""
    import importlib
    import sys
    import warnings

    from accelsim import _moved

    for old, new in sorted(_moved.MOVED.items()):
        sys.modules.pop(f"accelsim.{old}", None)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            mod = importlib.import_module(f"accelsim.{old}")
        target = importlib.import_module(f"accelsim.{new}")
        public = [n for n in vars(target) if not n.startswith("_")]
        assert public and all(getattr(mod, n) is getattr(target, n) for n in public), old
        warned = [w for w in caught if issubclass(w.category, DeprecationWarning)]
        assert bool(warned) == (old not in _moved.API_FUNCTIONS), old
    import accelsim

    assert callable(accelsim.simulate) and callable(accelsim.sweep)
    assert accelsim.simulate.simulate_layer is \
        importlib.import_module("accelsim.evaluate.simulate").simulate_layer


def test_every_package_folder_is_installed():
    """pyproject.toml lists packages by name (workloads/ is mapped to accelsim.workloads), so a
    new folder missing from the list would be left out of a non-editable install."""
    tomllib = pytest.importorskip("tomllib")   # Python 3.11+

    listed = set(tomllib.loads((PKG.parent / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    folders = {".".join(p.parent.relative_to(PKG.parent).parts) for p in PKG.rglob("__init__.py")
               if "__pycache__" not in p.parts}
    assert folders - listed == set(), "package folders missing from pyproject.toml"
    assert listed - folders - {"accelsim.workloads"} == set(), "listed packages that do not exist"
