"""Nested structures of lists, tuples, namedtuples and dicts, with `keras.tree`'s names and rules.

A structure is a `list`, a `tuple`, a namedtuple or a `dict` (any mapping type that subclasses
`dict`); everything else is a leaf, `None` and subclasses of `tuple` that are not namedtuples
included (a leaf type may subclass `tuple` to stay whole). Dicts are visited in sorted key order
(an `OrderedDict` in its own order), so that two dicts with the same keys flatten alike; mapping
keeps each dict's own key order.

>>> flatten({"b": 1, "a": [2, (3, None)]})
[2, 3, None, 1]
>>> map_structure(lambda x: x * 10, {"b": 1, "a": [2, 3]})
{'b': 10, 'a': [20, 30]}
"""

import collections

import numpy as np

__all__ = [
    "MAP_TO_NONE", "assert_same_paths", "assert_same_structure", "flatten", "flatten_with_path", "is_nested",
    "lists_to_tuples", "map_shape_structure", "map_structure", "map_structure_up_to", "pack_sequence_as", "traverse",
]


class MAP_TO_NONE:  # noqa: N801 -- Keras's name for the marker
    """Returned by a `traverse` function to put `None` in place of a node (a plain `None` means
    "keep it")."""


def _is_namedtuple(value):
    return isinstance(value, tuple) and hasattr(type(value), "_fields")


def is_nested(structure):
    """Whether `structure` is a list, tuple, namedtuple or dict (not a leaf).

    >>> is_nested([1]), is_nested({}), is_nested(None), is_nested("ab")
    (True, True, False, False)
    """
    if not isinstance(structure, (list, tuple, dict)):  # one check for the common leaf
        return False
    kind = type(structure)
    return kind is list or kind is tuple or isinstance(structure, dict) or hasattr(kind, "_fields")


def _keys(mapping):
    if isinstance(mapping, collections.OrderedDict):
        return list(mapping)
    try:
        return sorted(mapping)
    except TypeError:  # keys that do not sort (mixed types) keep their order
        return list(mapping)


def _children(structure):
    if isinstance(structure, dict):
        return [structure[key] for key in _keys(structure)]
    return structure


def flatten(structure):
    """The leaves of `structure`, depth first; a leaf gives `[leaf]`.

    >>> flatten([1, (2, [3]), {"y": 5, "x": 4}])
    [1, 2, 3, 4, 5]
    >>> flatten(None)
    [None]
    """
    if not isinstance(structure, (list, tuple, dict)) or not is_nested(structure):
        return [structure]
    leaves = []
    _flatten_into(structure, leaves)
    return leaves


def _flatten_into(structure, leaves):
    for item in _children(structure):
        if is_nested(item):
            _flatten_into(item, leaves)
        else:
            leaves.append(item)


def _rebuild(like, values):
    """A structure of `like`'s type holding `values` (a dict's in `like`'s own key order)."""
    if isinstance(like, dict):
        if isinstance(like, collections.defaultdict):
            return collections.defaultdict(like.default_factory, values)
        return type(like)(values)
    if _is_namedtuple(like):
        return type(like)(*values)
    return type(like)(values)


def map_structure(func, *structures, none_is_leaf=True):
    """`func` applied to the leaves of `structures` (all of one structure), in that structure.

    Args:
        func: A function of as many arguments as there are structures.
        *structures: Structures of the same nesting.
        none_is_leaf: When False, a `None` stays `None` instead of going to `func`.

    >>> map_structure(lambda a, b: a + b, [1, (2, 3)], [10, (20, 30)])
    [11, (22, 33)]
    """
    if len(structures) == 1 and not isinstance(structures[0], (list, tuple, dict)):  # a leaf, fast
        leaf = structures[0]
        return None if leaf is None and not none_is_leaf else func(leaf)
    if not structures:
        raise TypeError("tree.map_structure: expected at least one structure, got none")
    for other in structures[1:]:
        assert_same_structure(structures[0], other)
    return _map(func, structures, none_is_leaf, is_nested)


def _map(func, structures, none_is_leaf, nested):
    first = structures[0]
    if not nested(first):
        if first is None and not none_is_leaf:
            return None
        return func(*structures)
    if isinstance(first, dict):
        return _rebuild(first, [(key, _map(func, [s[key] for s in structures], none_is_leaf, nested))
                                for key in first])
    return _rebuild(first, [_map(func, items, none_is_leaf, nested) for items in zip(*structures)])


def _is_shape(value):
    return isinstance(value, (list, tuple)) and all(
        d is None or (isinstance(d, (int, np.integer)) and not isinstance(d, bool)) for d in value)


def map_shape_structure(func, structure):
    """`map_structure` over shapes: a list or tuple of ints and Nones is one leaf.

    >>> map_shape_structure(lambda s: s[1:], [(None, 3), {"x": (None, 4, 5)}])
    [(3,), {'x': (4, 5)}]
    """
    return _map(func, (structure,), True, lambda value: is_nested(value) and not _is_shape(value))


def pack_sequence_as(structure, flat_sequence):
    """The leaves `flat_sequence` (in `flatten` order) put into the nesting of `structure`.

    >>> pack_sequence_as({"b": 0, "a": [0, 0]}, [1, 2, 3])
    {'b': 3, 'a': [1, 2]}
    """
    flat_sequence = list(flat_sequence)
    expected = len(flatten(structure))
    if len(flat_sequence) != expected:
        raise ValueError(
            f"tree.pack_sequence_as: the structure has {expected} leaves, got a sequence of "
            f"{len(flat_sequence)}"
        )
    leaves = iter(flat_sequence)
    return _pack(structure, leaves)


def _pack(structure, leaves):
    if not is_nested(structure):
        return next(leaves)
    if isinstance(structure, dict):
        packed = {key: _pack(structure[key], leaves) for key in _keys(structure)}
        return _rebuild(structure, [(key, packed[key]) for key in structure])
    return _rebuild(structure, [_pack(item, leaves) for item in structure])


def assert_same_structure(a, b, check_types=None):
    """Raise a ValueError unless `a` and `b` nest alike: the same container types (any two
    dicts count as one type) with the same lengths and keys. `check_types` is accepted for
    Keras's signature and has no effect, as there.

    >>> assert_same_structure([1, (2, 3)], ["a", ("b", "c")])
    >>> assert_same_structure([1, 2], (1, 2))
    Traceback (most recent call last):
    ...
    ValueError: tree.assert_same_structure: expected a list, got a tuple at the top
    """
    _compare(a, b, "")


def _compare(a, b, path):
    where = path or "the top"
    if is_nested(a) != is_nested(b):
        got = "a leaf" if not is_nested(b) else f"a {type(b).__name__}"
        raise ValueError(
            f"tree.assert_same_structure: expected {'a leaf' if not is_nested(a) else f'a {type(a).__name__}'}, "
            f"got {got} at {where}"
        )
    if not is_nested(a):
        return
    if isinstance(a, dict) or isinstance(b, dict):
        if not (isinstance(a, dict) and isinstance(b, dict)) or set(a) != set(b):
            raise ValueError(f"tree.assert_same_structure: the dicts at {where} have different keys "
                             f"({sorted(map(repr, a))} and {sorted(map(repr, b))})")
        for key in a:
            _compare(a[key], b[key], f"{path}[{key!r}]")
        return
    if type(a) is not type(b):
        raise ValueError(
            f"tree.assert_same_structure: expected a {type(a).__name__}, got a {type(b).__name__} at {where}"
        )
    if len(a) != len(b):
        raise ValueError(f"tree.assert_same_structure: expected {len(a)} items, got {len(b)} at {where}")
    for i, (x, y) in enumerate(zip(a, b)):
        _compare(x, y, f"{path}[{i}]")


def _items(structure):
    """`(key, child)` pairs in `flatten` order: dict keys, else positions."""
    if isinstance(structure, dict):
        return [(key, structure[key]) for key in _keys(structure)]
    return list(enumerate(structure))


def flatten_with_path(structure):
    """`(path, leaf)` pairs in `flatten` order; a path is the tuple of keys and positions down to the leaf.

    >>> flatten_with_path({"b": 1, "a": [2, (3, None)]})
    [(('a', 0), 2), (('a', 1, 0), 3), (('a', 1, 1), None), (('b',), 1)]
    """
    pairs = []

    def walk(node, path):
        if not is_nested(node):
            pairs.append((path, node))
            return
        for key, child in _items(node):
            walk(child, (*path, key))

    walk(structure, ())
    return pairs


def assert_same_paths(a, b):
    """Raise a ValueError unless `a` and `b` have the same leaf paths (container types may differ).

    >>> assert_same_paths({"a": 1, "b": [2]}, {"b": (5,), "a": 0})
    >>> assert_same_paths({"a": 1}, {"b": 1})
    Traceback (most recent call last):
    ...
    ValueError: tree.assert_same_paths: paths only in the first structure: [('a',)]; only in the second: [('b',)]
    """
    first = {path for path, _ in flatten_with_path(a)}
    second = {path for path, _ in flatten_with_path(b)}
    if first != second:
        raise ValueError("tree.assert_same_paths: paths only in the first structure: "
                         f"{sorted(first - second, key=repr)}; only in the second: {sorted(second - first, key=repr)}")


def lists_to_tuples(structure):
    """`structure` with every list turned into a tuple, at any depth (dicts rebuilt in sorted key order, as Keras does).

    >>> lists_to_tuples({"a": [1, [2, 3]], "b": (4, [5])})
    {'a': (1, (2, 3)), 'b': (4, (5,))}
    """
    if not is_nested(structure):
        return structure
    if isinstance(structure, dict):
        return _rebuild(structure, [(key, lists_to_tuples(value)) for key, value in _items(structure)])
    children = [lists_to_tuples(item) for item in structure]
    return tuple(children) if isinstance(structure, list) else _rebuild(structure, children)


def map_structure_up_to(shallow_structure, func, *structures):
    """`func` applied to the sub-structures of `structures` found at the leaves of `shallow_structure`.

    >>> map_structure_up_to([0, 0], lambda a, b: (a, b), [[1, 2], {"x": 3}], [[4, 5], {"x": 6}])
    [([1, 2], [4, 5]), ({'x': 3}, {'x': 6})]
    """
    if not structures:
        raise TypeError("tree.map_structure_up_to: expected at least one structure, got none")

    def walk(shallow, nodes, path):
        if not is_nested(shallow):
            return func(*nodes)
        for node in nodes:
            if not is_nested(node):
                raise ValueError(f"tree.map_structure_up_to: expected a {type(shallow).__name__} at "
                                 f"{path or 'the top'}, got a leaf {node!r}")
            if len(node) != len(shallow):
                raise ValueError(f"tree.map_structure_up_to: expected {len(shallow)} items at {path or 'the top'}, "
                                 f"got {len(node)}")
            if isinstance(shallow, dict) and (not isinstance(node, dict) or set(node) != set(shallow)):
                raise ValueError(f"tree.map_structure_up_to: expected the keys {sorted(map(repr, shallow))} at "
                                 f"{path or 'the top'}, got {node!r}")
        if isinstance(shallow, dict):
            return _rebuild(shallow, [(key, walk(shallow[key], [n[key] for n in nodes], f"{path}[{key!r}]"))
                                      for key in shallow])
        return _rebuild(shallow, [walk(item, [n[i] for n in nodes], f"{path}[{i}]") for i, item in enumerate(shallow)])

    return walk(shallow_structure, structures, "")


def traverse(func, structure, top_down=True):
    """Apply `func` to every node, containers included. Top down, a non-None result replaces the
    node and its children are not visited; bottom up, `func` sees the node rebuilt from its
    visited children. `None` keeps the node; `MAP_TO_NONE` puts `None` there.

    >>> traverse(lambda x: x * 2 if isinstance(x, int) else None, [1, (2, 3)])
    [2, (4, 6)]
    >>> traverse(lambda x: len(x) if isinstance(x, tuple) else None, [1, (2, 3)], top_down=False)
    [1, 2]
    """
    def result(new, old):
        if new is None:
            return old
        return None if new is MAP_TO_NONE else new

    def children(node, visit):
        if isinstance(node, dict):
            return _rebuild(node, [(key, visit(value)) for key, value in node.items()])
        return _rebuild(node, [visit(item) for item in node])

    def down(node):
        new = func(node)
        if new is not None:
            return None if new is MAP_TO_NONE else new
        return children(node, down) if is_nested(node) else node

    def up(node):
        rebuilt = children(node, up) if is_nested(node) else node
        return result(func(rebuilt), rebuilt)

    return down(structure) if top_down else up(structure)
