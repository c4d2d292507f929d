"""The package's parts import each other in one direction only.

A part is a top-level module or subpackage of nablanet (`layers`, `saving`, `backend`, ...). Every
import counts, including those inside functions and `importlib.import_module("nablanet....")`
calls, because a function-level import that closes a cycle is still a cycle: it only moves the
failure from import time to call time. The facade `nablanet/__init__.py` may import anything.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "src" / "nablanet"


def _module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(node, module, is_package):
    """The absolute names an import node (or an `importlib.import_module` call) may load."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".")
            base = base[: len(base) - node.level + (1 if is_package else 0)]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        return [prefix] + [f"{prefix}.{alias.name}" for alias in node.names]
    if (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
        return [node.args[0].value]
    return []


def part_of(module):
    """`nablanet.layers.core` -> `layers`; the facade `nablanet` -> None."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 and pieces[0] == "nablanet" else None


def import_graph():
    """{part: {imported part: [file:line, ...]}} over every import in the package's files."""
    parts = {p.stem if p.suffix == ".py" else p.name for p in PACKAGE.iterdir()
             if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()}
    graph = {part: {} for part in parts}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        source = part_of(module)
        if source is None:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for name in _imported_modules(node, module, path.name == "__init__.py"):
                target = part_of(name)
                if target in parts and target != source:
                    where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
                    places = graph[source].setdefault(target, [])
                    if where not in places:
                        places.append(where)
    return graph


def cycles(graph):
    """The strongly connected components with more than one part (Tarjan, iteratively)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle_between_parts():
    graph = import_graph()
    problems = []
    for component in cycles(graph):
        edges = [f"  {a} -> {b} ({', '.join(graph[a][b][:3])})"
                 for a in component for b in component if b in graph[a]]
        problems.append(f"cycle between {component}:\n" + "\n".join(edges))
    assert not problems, "\n".join(problems)


def test_names_imported_across_parts_are_public():
    """A name another part imports is part of the package's seams, so it has no leading underscore."""
    private = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = part_of(_module_name(path))
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and part_of(node.module) not in (None, source):
                private += [f"{path.relative_to(PACKAGE.parent)}:{node.lineno} imports {node.module}.{alias.name}"
                            for alias in node.names if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert not private, "\n".join(private)


@pytest.mark.parametrize("graph, expected", [
    ({"a": {"b": 1}, "b": {"a": 1}, "c": {"a": 1}}, [["a", "b"]]),
    ({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}}, [["a", "b", "c"]]),
    ({"a": {"b": 1}, "b": {}, "c": {"b": 1}}, []),
])
def test_cycle_finder(graph, expected):
    assert cycles(graph) == expected


def test_function_level_imports_count(tmp_path):
    tree = ast.parse("def f():\n    from nablanet.saving import load_model\n"
                     "importlib.import_module('nablanet.models')\n")
    names = [name for node in ast.walk(tree) for name in _imported_modules(node, "nablanet.layers.core", False)]
    assert {part_of(name) for name in names} == {"saving", "models"}
