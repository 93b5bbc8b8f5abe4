"""The package's import graph has no cycle, and the store and the simulator keep to the public API.

Read from the source with ``ast``, not by importing: every ``import`` and
``from ... import`` counts, function-local ones too, except those under
``if TYPE_CHECKING:``. Relative imports are resolved. Importing ``a.b.c``
also runs the packages ``a`` and ``a.b``, so they count as imported too,
except the packages the importing module is itself inside: a package's
``__init__`` importing its own children is not a cycle.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "jobqueue"


# ---------------------------------------------------------------------- the checker


def modules(root: Path) -> dict[str, Path]:
    """Every module of the package at ``root``, by dotted name (a package by its own name)."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def imports(tree: ast.AST, *, type_checking: bool = False) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement in ``tree``, at any depth.

    Those under ``if TYPE_CHECKING:`` only with ``type_checking``; its ``else``
    branch always counts.
    """
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test) and not type_checking:
            for statement in node.orelse:
                yield from imports(ast.Module(body=[statement], type_ignores=[]))
        else:
            yield from imports(node, type_checking=type_checking)


def resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute name of the module a ``from`` import reads from."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base.pop()  # a plain module's relative imports start from its package
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imported_modules(module: str, is_package: bool, tree: ast.AST, known: set[str]) -> set[str]:
    """The modules of ``known`` that the imports of ``module`` make Python run."""
    own = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
    if is_package:
        own.add(module)
    found: set[str] = set()
    for node in imports(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            source = resolve(module, is_package, node)
            targets = [f"{source}.{alias.name}" for alias in node.names]
            targets = [t for t in targets if t in known]  # ``from pkg import module``
            if len(targets) < len(node.names):
                targets.append(source)  # a name read from ``source`` itself
        for target in targets:
            if target in known:
                found.add(target)
            # the packages on the way run first, unless the module is inside them
            parts = target.split(".")
            found.update(
                parent
                for parent in (".".join(parts[:i]) for i in range(1, len(parts)))
                if parent in known and parent not in own
            )
    found.discard(module)
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    """Which modules of the package at ``root`` each of its modules imports."""
    found = modules(root)
    known = set(found)
    graph: dict[str, set[str]] = {}
    for name, path in found.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        graph[name] = imported_modules(name, path.name == "__init__.py", tree, known)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The shortest import cycle through each module that is on one, as a path back to its start.

    Each cycle starts from its first module by name, and is listed once.
    """
    found: set[tuple[str, ...]] = set()
    for group in _strongly_connected(graph):
        for start in group:
            path = _shortest_cycle(graph, group, start)
            first = path.index(min(path))
            found.add((*path[first:], *path[:first], min(path)))
    return [list(cycle) for cycle in sorted(found)]


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """The groups of two or more modules that import one another (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            group: set[str] = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def _shortest_cycle(graph: dict[str, set[str]], group: set[str], start: str) -> list[str]:
    """A shortest path from ``start`` back to it, within ``group`` (without the repeated end)."""
    paths = {start: [start]}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for succ in sorted(graph[node] & group):
            if succ == start:
                return paths[node]
            if succ not in paths:
                paths[succ] = [*paths[node], succ]
                queue.append(succ)
    raise AssertionError(f"{start!r} is on no cycle")  # pragma: no cover


def private_scheduler_imports(root: Path, packages: tuple[str, ...]) -> list[str]:
    """Imports, in modules under ``packages``, of ``_scheduler``'s private names or of the module.

    Under ``if TYPE_CHECKING:`` too: a type-only import of a private name ties
    the code to it all the same.
    """
    scheduler = f"{root.name}._scheduler"
    found = []
    for name, path in modules(root).items():
        if not any(name == p or name.startswith(p + ".") for p in packages):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_package = path.name == "__init__.py"
        where = f"{path.relative_to(root.parent)}"
        for node in imports(tree, type_checking=True):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names if alias.name == scheduler]
            else:
                source = resolve(name, is_package, node)
                if source == scheduler:
                    names = [
                        f"{scheduler}.{alias.name}"
                        for alias in node.names
                        if alias.name.startswith("_") or alias.name == "*"
                    ]
                else:
                    names = [
                        f"{source}.{alias.name}"
                        for alias in node.names
                        if f"{source}.{alias.name}" == scheduler
                    ]
            found += [f"{where}:{node.lineno} imports {n}" for n in names]
    return found


# ---------------------------------------------------------------------- jobqueue


def test_the_package_has_no_import_cycle() -> None:
    found = cycles(import_graph(PACKAGE))
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_the_store_and_the_simulator_use_no_private_name_of_the_scheduler() -> None:
    found = private_scheduler_imports(PACKAGE, ("jobqueue.store", "jobqueue.sim"))
    assert not found, "private imports of jobqueue._scheduler:\n" + "\n".join(found)


# ---------------------------------------------------------------------- the checker itself


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


ACYCLIC = {
    # The package imports its children, which import one another (not back).
    "pkg/__init__.py": "from ._a import A\nfrom .sub import B\n",
    "pkg/_a.py": "from ._b import helper\nfrom . import _c\nimport pkg._c as c\n",
    "pkg/_b.py": "import os\n\ndef helper() -> None:\n    from ._c import C\n",
    "pkg/_c.py": (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from ._a import A\n"
        "import typing\n"
        "if typing.TYPE_CHECKING:\n    from .sub._d import D\n"
        "C = 1\n"
    ),
    "pkg/sub/__init__.py": "from ._d import B\nfrom .._b import helper\n",
    "pkg/sub/_d.py": "from .._c import C\nfrom ..sub import _e\nB = 2\n",
    "pkg/sub/_e.py": "from pkg._c import C\n",
}


def test_the_checker_passes_an_acyclic_package(tmp_path: Path) -> None:
    root = write(tmp_path, ACYCLIC)
    graph = import_graph(root)
    assert graph == {
        "pkg": {"pkg._a", "pkg.sub"},
        "pkg._a": {"pkg._b", "pkg._c"},
        "pkg._b": {"pkg._c"},
        "pkg._c": set(),
        "pkg.sub": {"pkg.sub._d", "pkg._b"},
        "pkg.sub._d": {"pkg._c", "pkg.sub._e"},
        "pkg.sub._e": {"pkg._c"},
    }
    assert cycles(graph) == []


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        # a function-local import closes the loop
        (
            {"pkg/_c.py": "def f() -> None:\n    from ._a import A\n"},
            [["pkg._a", "pkg._b", "pkg._c", "pkg._a"], ["pkg._a", "pkg._c", "pkg._a"]],
        ),
        # an import in the else branch of TYPE_CHECKING counts
        (
            {"pkg/_c.py": "if TYPE_CHECKING:\n    pass\nelse:\n    from . import _b\n"},
            [["pkg._b", "pkg._c", "pkg._b"]],
        ),
        # importing pkg.sub._d from outside runs pkg.sub, which imports pkg._b
        (
            {"pkg/_b.py": "def helper() -> None:\n    from .sub._d import B\n"},
            [["pkg._b", "pkg.sub", "pkg._b"]],
        ),
        # a child importing a name its own package's __init__ defines
        (
            {"pkg/sub/_e.py": "from . import B\n"},
            [["pkg.sub", "pkg.sub._d", "pkg.sub._e", "pkg.sub"]],
        ),
    ],
)
def test_the_checker_finds_a_cycle(
    tmp_path: Path, changed: dict[str, str], expected: list[list[str]]
) -> None:
    root = write(tmp_path, {**ACYCLIC, **changed})
    assert cycles(import_graph(root)) == expected


def test_the_checker_finds_private_imports_of_the_scheduler(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/_scheduler.py": "class Scheduler: ...\ndef _helper() -> None: ...\n",
            "pkg/store/__init__.py": "from .._scheduler import Scheduler\n",
            "pkg/store/_a.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from .._scheduler import _helper\n"
            ),
            "pkg/store/_b.py": "def f() -> None:\n    from .. import _scheduler\n",
            "pkg/sim/_c.py": (
                "import pkg._scheduler\nfrom pkg._scheduler import Scheduler, _helper\n"
            ),
            "pkg/other.py": "from ._scheduler import _helper\n",
        },
    )
    assert private_scheduler_imports(root, ("pkg.store", "pkg.sim")) == [
        "pkg/sim/_c.py:1 imports pkg._scheduler",
        "pkg/sim/_c.py:2 imports pkg._scheduler._helper",
        "pkg/store/_a.py:3 imports pkg._scheduler._helper",
        "pkg/store/_b.py:2 imports pkg._scheduler",
    ]
