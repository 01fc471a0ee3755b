"""The package's shape: no import circles, and a command line that starts without the heavy libraries."""

from __future__ import annotations

import subprocess
import sys

import grimp


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each an import circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.find_modules_directly_imported_by(v):
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

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_import_circles() -> None:
    """No module of sim imports, directly or through others, a module that imports it back."""
    graph = grimp.build_graph("sim")
    assert len(graph.modules) > 40
    assert _cycles(graph) == []


def test_cycle_finder_sees_a_circle() -> None:
    """The circle finder reports a circle it is given (so the test above can fail)."""
    graph = grimp.ImportGraph()
    for a, b in (("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")):
        graph.add_import(importer=a, imported=b)
    assert _cycles(graph) == [["p.a", "p.b", "p.c"]]


HEAVY = ("numpy", "pandas", "scipy", "simpy", "pyarrow", "matplotlib", "pydantic")


def _loaded_after(statement: str) -> list[str]:
    code = f"import sys; {statement}; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return out.split()


def test_import_sim_loads_no_heavy_library() -> None:
    """``import sim`` loads the API on first use: none of the heavy libraries at import."""
    assert _loaded_after("import sim") == []


def test_command_line_loads_no_heavy_library_for_help() -> None:
    """The command line's modules import the model inside the commands, so ``--help`` starts fast."""
    assert _loaded_after("import sim.cli") == []
