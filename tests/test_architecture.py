"""The package's shape, as docs/architecture.md describes it, checked on the source itself.

- Layers: a module imports only from its own package or from layers below it
  (``LAYERS``, top first); the clients and the test fixtures use the server only over the wire.
- No import cycle between modules. Every import counts: at the top, inside functions
  (deferred) and under ``TYPE_CHECKING``.
- Sizes: no class over 400 lines, no function over 60 (the diff3 port, a line-by-line port of
  git's xdiff, is exempt); at most 8 modules at the package's top level.
- No Lua inside Python strings: every script is a ``.lua`` file of ``store/redis/lua``.
- No two test modules share a basename (pytest would refuse to collect the second).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "notebook_sync_ydoc"
PACKAGE = "notebook_sync_ydoc"

# top first; packages on one line are siblings and must not import each other
LAYERS: list[tuple[str, ...]] = [
    ("app",),
    ("transport",),
    ("follow",),
    ("session",),
    ("protocol", "engines"),
    ("merge",),
    ("store",),
    ("_version",),
]
# over the wire only: they may use these layers' pure parts, never the server's
OUTSIDE = {"clients": {"protocol", "merge", "engines", "follow"}, "testing": set()}
SIZE_EXEMPT = {"merge/diff3.py"}
MAX_CLASS_LINES = 400
MAX_FUNCTION_LINES = 60
MAX_TOP_LEVEL_MODULES = 8


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """The package's modules ``name`` imports (every import statement), with line numbers."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                if not is_package:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            targets = [prefix] + [f"{prefix}.{a.name}" for a in node.names]
        for target in targets:
            # the module itself if it is one, else the nearest package above it
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and target.startswith(PACKAGE):
                yield target, node.lineno


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: {t for t, _ in imports_of(name, path, known)} for name, path in mods.items()}


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def rank(layer: str) -> int | None:
    for i, names in enumerate(LAYERS):
        if layer in names:
            return i
    return None


def test_every_subpackage_has_a_place() -> None:
    placed = {n for names in LAYERS for n in names} | set(OUTSIDE) | {""}
    assert {layer_of(m) for m in modules()} <= placed


def test_layers_point_down_only() -> None:
    wrong: list[str] = []
    for module, targets in graph().items():
        here = layer_of(module)
        for target in targets:
            there = layer_of(target)
            if here == there or here == "":
                continue
            if there in OUTSIDE:
                wrong.append(f"{module} -> {target}: nothing in the server uses {there}")
            elif here in OUTSIDE:
                if there not in OUTSIDE[here]:
                    wrong.append(f"{module} -> {target}: {here} reach the server by wire only")
            else:
                r_here, r_there = rank(here), rank(there)
                assert r_here is not None and r_there is not None
                if r_there <= r_here:
                    wrong.append(f"{module} -> {target}: {there} is not below {here}")
    assert not wrong, "\n".join(wrong)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def definitions(path: Path) -> Iterator[tuple[str, str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            kind = "class" if isinstance(node, ast.ClassDef) else "function"
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            assert node.end_lineno is not None
            yield kind, node.name, node.end_lineno - start + 1


@pytest.mark.parametrize(
    "kind,limit", [("class", MAX_CLASS_LINES), ("function", MAX_FUNCTION_LINES)]
)
def test_sizes(kind: str, limit: int) -> None:
    too_big = [
        f"{path.relative_to(ROOT)}: {kind} {name} has {lines} lines"
        for path in sorted(ROOT.rglob("*.py"))
        if path.relative_to(ROOT).as_posix() not in SIZE_EXEMPT
        for k, name, lines in definitions(path)
        if k == kind and lines > limit
    ]
    assert not too_big, "\n".join(too_big)


def test_few_modules_at_the_top_level() -> None:
    top = sorted(p.name for p in ROOT.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


def test_no_lua_in_python_strings() -> None:
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if "redis.call(" in node.value:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders
    assert len(list((ROOT / "store/redis/lua").glob("*.lua"))) >= 13


FRONTEND = ROOT.parent / "src" / "api"


def test_the_frontend_names_the_same_codes() -> None:
    """Error codes and close codes are defined once per side; the two sides must agree."""
    import re

    from notebook_sync_ydoc.protocol import codes, validation

    errors_ts = (FRONTEND / "errors.ts").read_text(encoding="utf-8")
    union = errors_ts.split("export type ServerErrorCode =", 1)[1].split(";", 1)[0]
    assert set(re.findall(r"'([a-z_]+)'", union)) == set(validation.ERROR_CODES)
    codes_ts = (FRONTEND / "codes.ts").read_text(encoding="utf-8")
    ts_close = {int(n) for n in re.findall(r":\s*(\d{4}),?\s*$", codes_ts, flags=re.M)}
    py_close = {getattr(codes, n) for n in codes.__all__ if n.startswith("CLOSE_")}
    assert ts_close == py_close
    assert f"ROOM_KEY = '{codes.METADATA_KEY}'" in codes_ts


def test_test_modules_have_unique_basenames() -> None:
    """pytest imports test modules by basename (most test folders have no ``__init__.py``):
    a second ``test_x.py`` in another folder stops the whole run at collection."""
    tests = ROOT.parent / "tests"
    seen: dict[str, list[str]] = {}
    for path in sorted(tests.rglob("test_*.py")):
        seen.setdefault(path.name, []).append(path.relative_to(tests).as_posix())
    clashes = {name: paths for name, paths in seen.items() if len(paths) > 1}
    assert not clashes, clashes
    assert len(seen) >= 20  # the walk found the suite
