"""nablanet.tree against keras.tree on the same structures."""

import collections

import numpy as np
import pytest

from nablanet import tree

keras = pytest.importorskip("keras")

Point = collections.namedtuple("Point", "x y")


class Spec(tuple):
    """A tuple subclass that is not a namedtuple: a leaf in both libraries."""


STRUCTURES = [
    1,
    None,
    "text",
    np.ones(2),
    [],
    [1, None, (2, 3)],
    {"b": 1, "a": [2, {"c": 3, "d": 4}]},
    collections.OrderedDict([("b", 1), ("a", 2)]),
    Point(1, [2, 3]),
    (Spec((1, 2)), [Spec((3,))]),
    [{"y": (1, 2), "x": None}, ((3,), [4, 5])],
]


def same(a, b):
    return len(a) == len(b) and all(x is y or (type(x) is type(y) and np.array_equal(x, y)) for x, y in zip(a, b))


@pytest.mark.parametrize("structure", STRUCTURES)
def test_flatten_and_is_nested_match_keras(structure):
    assert same(tree.flatten(structure), keras.tree.flatten(structure))
    assert tree.is_nested(structure) == keras.tree.is_nested(structure)


@pytest.mark.parametrize("structure", STRUCTURES)
def test_map_structure_matches_keras(structure):
    def mark(leaf):
        return ("leaf", repr(leaf))

    ours, theirs = tree.map_structure(mark, structure), keras.tree.map_structure(mark, structure)
    assert ours == theirs and type(ours) is type(theirs)
    if isinstance(ours, dict):
        assert list(ours) == list(theirs)  # each dict keeps its own key order


@pytest.mark.parametrize("structure", STRUCTURES)
def test_pack_sequence_as_inverts_flatten_as_in_keras(structure):
    leaves = list(range(len(keras.tree.flatten(structure))))
    ours = tree.pack_sequence_as(structure, leaves)
    assert ours == keras.tree.pack_sequence_as(structure, leaves)
    assert tree.flatten(ours) == leaves


def test_nested_dicts_flatten_in_sorted_key_order_at_every_level():
    # keras.tree documents sorted keys; its torch implementation sorts only the outermost dict
    assert tree.flatten({"b": 1, "a": [2, {"d": 3, "c": 4}]}) == [2, 4, 3, 1]


def test_map_structure_of_several_structures_matches_keras():
    a, b = {"b": [1, 2], "a": (3,)}, {"a": (30,), "b": [10, 20]}
    assert tree.map_structure(lambda x, y: x + y, a, b) == keras.tree.map_structure(lambda x, y: x + y, a, b)
    with pytest.raises(ValueError):
        keras.tree.map_structure(lambda x, y: x, [1, 2], (1, 2))
    with pytest.raises(ValueError, match="expected a list, got a tuple"):
        tree.map_structure(lambda x, y: x, [1, 2], (1, 2))


def test_none_is_leaf_false_keeps_none():
    assert tree.map_structure(lambda x: 1, [None, 2], none_is_leaf=False) == [None, 1]
    assert keras.tree.map_structure(lambda x: 1, [None, 2], none_is_leaf=False) == [None, 1]


@pytest.mark.parametrize("structure", [
    (None, 3), [(None, 3), (2,)], {"b": (None, 4, 5), "a": [(1,), ()]}, ((None, 2), {"x": (3,)}),
])
def test_map_shape_structure_matches_keras(structure):
    assert tree.map_shape_structure(len, structure) == keras.tree.map_shape_structure(len, structure)


@pytest.mark.parametrize("a, b, same_structure", [
    ([1, (2, 3)], ["a", ("b", "c")], True),
    ({"a": 1, "b": [2]}, collections.OrderedDict([("b", [0]), ("a", 0)]), True),
    ([1, 2], (1, 2), False),
    ([1, 2], [1, 2, 3], False),
    ({"a": 1}, {"b": 1}, False),
    ([1, [2]], [1, 2], False),
    (Point(1, 2), (1, 2), False),
])
def test_assert_same_structure_agrees_with_keras(a, b, same_structure):
    for check in (tree.assert_same_structure, keras.tree.assert_same_structure):
        if same_structure:
            check(a, b)
        else:
            with pytest.raises((ValueError, TypeError)):
                check(a, b)


# -- the names Keras 3 added: paths, lists_to_tuples, map_structure_up_to, traverse ---------------------

def test_flatten_with_path_matches_keras_on_every_structure():
    for structure in STRUCTURES:
        ours, theirs = tree.flatten_with_path(structure), keras.tree.flatten_with_path(structure)
        assert [p for p, _ in ours] == [tuple(p) for p, _ in theirs], structure
        assert same([v for _, v in ours], [v for _, v in theirs])


@pytest.mark.parametrize("a, b", [
    ({"a": 1, "b": [2]}, {"b": (5,), "a": 0}),
    ([1, 2], (1, 2)),
    ({"a": 1}, {"b": 1}),
    ([1, [2]], [1, 2]),
])
def test_assert_same_paths_agrees_with_keras(a, b):
    try:
        keras.tree.assert_same_paths(a, b)
        keras_raises = False
    except ValueError:
        keras_raises = True
    if keras_raises:
        with pytest.raises(ValueError, match="tree.assert_same_paths"):
            tree.assert_same_paths(a, b)
    else:
        tree.assert_same_paths(a, b)


def test_lists_to_tuples_matches_keras():
    for structure in STRUCTURES + [{"a": [1, [2, 3]], "b": (4, [5])}]:
        ours, theirs = tree.lists_to_tuples(structure), keras.tree.lists_to_tuples(structure)
        assert repr(ours) == repr(theirs)


def test_map_structure_up_to_matches_keras():
    shallow = [0, {"x": 0}]
    a = [[1, 2], {"x": (3, 4)}]
    b = [[5, 6], {"x": (7, 8)}]
    pair = lambda u, v: (u, v)  # noqa: E731
    assert tree.map_structure_up_to(shallow, pair, a, b) == keras.tree.map_structure_up_to(shallow, pair, a, b)
    with pytest.raises(ValueError, match="map_structure_up_to: expected 2 items"):
        tree.map_structure_up_to([0, 0], lambda u: u, [1])


@pytest.mark.parametrize("top_down", [True, False])
def test_traverse_matches_keras(top_down):
    functions = [
        lambda x: None,
        lambda x: x * 2 if isinstance(x, int) else None,
        lambda x: "cut" if isinstance(x, tuple) else None,
        lambda x: (tree.MAP_TO_NONE if isinstance(x, int) else None),
        lambda x: len(x) if isinstance(x, (tuple, list)) else None,
    ]
    keras_functions = [
        lambda x: None,
        lambda x: x * 2 if isinstance(x, int) else None,
        lambda x: "cut" if isinstance(x, tuple) else None,
        lambda x: (keras.tree.MAP_TO_NONE if isinstance(x, int) else None),
        lambda x: len(x) if isinstance(x, (tuple, list)) else None,
    ]
    for structure in ([1, (2, 3)], {"b": [1, (2,)], "a": 3}, 5):
        for ours, theirs in zip(functions, keras_functions):
            assert tree.traverse(ours, structure, top_down) == keras.tree.traverse(theirs, structure, top_down)
