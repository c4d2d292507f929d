"""MultiHeadAttention and GroupQueryAttention: Keras's outputs on the same weights (masks, causal,
scores, attention axes, output shapes), float64 gradients, configs, functional shapes and errors."""

import numpy as np
import pytest

import nablanet
from nablanet import Variable, gradcheck, layers
from nablanet.layers.probe import with_sublayers

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)
QUERY = RNG.standard_normal((2, 4, 6)).astype(np.float32)
VALUE = RNG.standard_normal((2, 5, 7)).astype(np.float32)
KEY = RNG.standard_normal((2, 5, 3)).astype(np.float32)
GRID = RNG.standard_normal((2, 3, 4, 6)).astype(np.float32)


def _numpy(x):
    return keras.ops.convert_to_numpy(x)


def _compare(cls, kwargs, args, call):
    """Build both layers, give them the same random weights, and compare every output to 1e-5."""
    theirs, ours = getattr(keras.layers, cls)(**kwargs), getattr(layers, cls)(**kwargs)
    theirs(*args, **call)
    ours(*args, **call)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert [w.name.split("/")[-1] for w in ours.weights] == [w.name for w in theirs.weights]
    weights = [np.random.default_rng(1).standard_normal(tuple(w.shape)).astype(np.float32) * 0.3
               for w in theirs.weights]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    expected, got = theirs(*args, **call), ours(*args, **call)
    expected, got = (expected, got) if isinstance(expected, tuple) else ((expected,), (got,))
    assert len(got) == len(expected)
    for e, g in zip(expected, got):
        assert tuple(g.shape) == tuple(e.shape)
        np.testing.assert_allclose(g.numpy(), _numpy(e), rtol=1e-5, atol=1e-5)
    return ours


MASK = RNG.random((2, 4, 5)) > 0.3
SELF_MASK = RNG.random((2, 4, 4)) > 0.3
MHA_CASES = {
    "self": ({"num_heads": 2, "key_dim": 3}, (QUERY, QUERY), {}),
    "cross": ({"num_heads": 2, "key_dim": 3}, (QUERY, VALUE), {}),
    "cross with key": ({"num_heads": 2, "key_dim": 3}, (QUERY, VALUE, KEY), {}),
    "value_dim": ({"num_heads": 3, "key_dim": 2, "value_dim": 5}, (QUERY, VALUE), {}),
    "attention_mask": ({"num_heads": 2, "key_dim": 3}, (QUERY, VALUE), {"attention_mask": MASK}),
    "scores": ({"num_heads": 2, "key_dim": 3}, (QUERY, VALUE),
               {"attention_mask": MASK, "return_attention_scores": True}),
    "causal": ({"num_heads": 2, "key_dim": 3}, (QUERY, QUERY), {"use_causal_mask": True}),
    "causal scores": ({"num_heads": 2, "key_dim": 3}, (QUERY, QUERY),
                      {"use_causal_mask": True, "return_attention_scores": True}),
    "causal and mask": ({"num_heads": 2, "key_dim": 3}, (QUERY, QUERY),
                        {"use_causal_mask": True, "attention_mask": SELF_MASK}),
    "value_mask": ({"num_heads": 2, "key_dim": 3}, (QUERY, VALUE), {"value_mask": RNG.random((2, 5)) > 0.4}),
    "output_shape": ({"num_heads": 2, "key_dim": 3, "output_shape": (2, 5)}, (QUERY, VALUE), {}),
    "output_shape int": ({"num_heads": 2, "key_dim": 3, "output_shape": 4}, (QUERY, VALUE), {}),
    "no bias, gate": ({"num_heads": 2, "key_dim": 3, "use_bias": False, "use_gate": True}, (QUERY, VALUE), {}),
    "attention_axes (1, 2)": ({"num_heads": 2, "key_dim": 3, "attention_axes": (1, 2)}, (GRID, GRID),
                              {"return_attention_scores": True}),
    "attention_axes 2": ({"num_heads": 2, "key_dim": 3, "attention_axes": 2}, (GRID, GRID), {}),
    "sliding_window": ({"num_heads": 2, "key_dim": 3, "sliding_window": 2}, (QUERY, QUERY), {}),
    "dropout at inference": ({"num_heads": 2, "key_dim": 3, "dropout": 0.5}, (QUERY, VALUE),
                             {"attention_mask": MASK}),
}


@pytest.mark.parametrize("kwargs, args, call", MHA_CASES.values(), ids=MHA_CASES.keys())
def test_multi_head_attention_matches_keras(kwargs, args, call):
    _compare("MultiHeadAttention", kwargs, args, call)


GQA = {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2}
QUERY6 = RNG.standard_normal((2, 5, 6)).astype(np.float32)
GQA_CASES = {
    "self": (GQA, (QUERY, QUERY), {}),
    "cross": (GQA, (QUERY, QUERY6), {}),
    "one key/value head": ({**GQA, "num_key_value_heads": 1}, (QUERY, QUERY6), {}),
    "scores": (GQA, (QUERY, QUERY6), {"return_attention_scores": True}),
    "causal": (GQA, (QUERY, QUERY), {"use_causal_mask": True}),
    "causal scores": (GQA, (QUERY, QUERY), {"use_causal_mask": True, "return_attention_scores": True}),
    "attention_mask": (GQA, (QUERY, QUERY6), {"attention_mask": MASK}),
    "query and value masks": (GQA, (QUERY, QUERY6), {"query_mask": RNG.random((2, 4)) > 0.3,
                                                    "value_mask": RNG.random((2, 5)) > 0.3}),
    "gate, no bias, window": ({**GQA, "use_gate": True, "use_bias": False, "sliding_window": 2}, (QUERY, QUERY), {}),
    "dropout at inference": ({**GQA, "dropout": 0.3}, (QUERY, QUERY6), {"value_mask": RNG.random((2, 5)) > 0.3}),
}


@pytest.mark.parametrize("kwargs, args, call", GQA_CASES.values(), ids=GQA_CASES.keys())
def test_group_query_attention_matches_keras(kwargs, args, call):
    _compare("GroupQueryAttention", kwargs, args, call)


def _transformer_block(lib, model_class, causal=False, scores=False):
    ids = lib.Input(shape=(6,), dtype="int32")
    x = lib.Embedding(10, 8, mask_zero=True)(ids)
    attention = lib.MultiHeadAttention(2, 4)
    if scores:
        a, s = attention(x, x, use_causal_mask=causal, return_attention_scores=True)
    else:
        a = attention(x, x, use_causal_mask=causal)
    x = lib.LayerNormalization()(lib.Add()([x, a]))
    f = lib.Dense(8)(lib.Dense(16, activation="relu")(x))
    x = lib.LayerNormalization()(lib.Add()([x, f]))
    out = lib.Dense(3)(lib.GlobalAveragePooling1D()(x))
    return model_class(ids, [out, s] if scores else out)


IDS = np.array([[3, 1, 4, 1, 0, 0], [5, 9, 0, 0, 0, 0], [2, 6, 5, 3, 5, 8]])


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("scores", [False, True])
def test_padding_masks_from_embedding_reach_attention_as_in_keras(causal, scores):
    theirs = _transformer_block(keras.layers, keras.Model, causal, scores)
    ours = _transformer_block(layers, nablanet.Model, causal, scores)
    weights = [np.random.default_rng(2).standard_normal(tuple(w.shape)).astype(np.float32) * 0.3
               for w in theirs.weights]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    expected, got = theirs.predict(IDS, verbose=0), ours.predict(IDS, verbose=0)
    for e, g in zip(expected if scores else [expected], got if scores else [got]):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)
    if scores:
        assert ours.outputs[1].shape == (None, 2, 6, 6)


def test_the_output_carries_the_query_mask_and_padding_changes_the_result():
    embedding = layers.Embedding(10, 8, mask_zero=True)
    x = embedding(IDS)
    attention = layers.MultiHeadAttention(2, 4)
    out = attention(x, x)
    np.testing.assert_array_equal(out._keras_mask, IDS != 0)
    unmasked = attention(embedding.call(IDS), embedding.call(IDS))  # the same data without its mask
    assert not np.allclose(out.numpy()[0, :4], unmasked.numpy()[0, :4])


def _weight_owners(layer):
    found = {}
    for owner in with_sublayers(layer):
        for name, value in vars(owner).items():
            if isinstance(value, Variable):
                found[id(value)] = (owner, name)
    return [found[id(w)] for w in layer.trainable_weights]


def _gradcheck_layer(layer, call, *inputs):
    """Float64 central differences against autodiff, with respect to the inputs and every weight."""
    owners = _weight_owners(layer)

    def f(*arrays):
        saved = [getattr(owner, name) for owner, name in owners]
        for (owner, name), w in zip(owners, arrays[len(inputs):]):
            setattr(owner, name, w)
        try:
            return call(*arrays[:len(inputs)])
        finally:
            for (owner, name), w in zip(owners, saved):
                setattr(owner, name, w)

    gradcheck(f, *inputs, *[w.numpy() for w in layer.trainable_weights])


@pytest.mark.parametrize("kwargs, call", [
    ({"num_heads": 2, "key_dim": 2}, {}),
    ({"num_heads": 2, "key_dim": 2, "value_dim": 3, "use_gate": True}, {"use_causal_mask": True}),
    ({"num_heads": 2, "key_dim": 2, "output_shape": (2, 2)}, {"return_attention_scores": True}),
])
def test_multi_head_attention_gradients(kwargs, call):
    rng = np.random.default_rng(3)
    q, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 3))
    layer = layers.MultiHeadAttention(**kwargs, bias_initializer="random_normal", dtype="float64")
    layer(q, v)
    mask = np.array([[True, True, False, True]] * 3)[None].repeat(2, 0)

    def run(query, value):
        out = layer.call(query, value, attention_mask=mask, **call)
        return out[0] * 1.5 + out[1].sum() if isinstance(out, tuple) else out

    _gradcheck_layer(layer, run, q, v)


def test_multi_head_attention_gradients_over_two_attention_axes():
    x = np.random.default_rng(4).standard_normal((1, 2, 3, 4))
    layer = layers.MultiHeadAttention(2, 2, attention_axes=(1, 2), dtype="float64")
    layer(x, x)
    _gradcheck_layer(layer, lambda q: layer.call(q, q), x)


def test_group_query_attention_gradients():
    rng = np.random.default_rng(5)
    q, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 4))
    layer = layers.GroupQueryAttention(2, 4, 2, use_gate=True, bias_initializer="random_normal", dtype="float64")
    layer(q, v)
    _gradcheck_layer(layer, lambda query, value: layer.call(query, value), q, v)
    _gradcheck_layer(layer, lambda query, value: layer.call(query, value, return_attention_scores=True)[0], q, v)


def test_attention_dropout_uses_the_layers_seed():
    q = np.random.default_rng(6).standard_normal((2, 4, 6)).astype(np.float32)
    outs = []
    for _ in range(2):
        layer = layers.MultiHeadAttention(2, 3, dropout=0.5, seed=7, kernel_initializer=nablanet.initializers.Ones())
        outs.append(layer(q, q, training=True).numpy())
        assert not np.allclose(outs[-1], layer(q, q).numpy())
    np.testing.assert_array_equal(outs[0], outs[1])
    gqa = layers.GroupQueryAttention(3, 2, 1, dropout=0.5, seed=7)
    assert not np.allclose(gqa(q, q, training=True).numpy(), gqa(q, q).numpy())


@pytest.mark.parametrize("cls, kwargs, args", [
    ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3}, (QUERY, VALUE)),
    ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3, "output_shape": [2, 5], "attention_axes": [1]}, (QUERY,
                                                                                                          VALUE)),
    ("GroupQueryAttention", GQA, (QUERY, QUERY6)),
])
def test_configs_are_keras_before_and_after_building(cls, kwargs, args):
    theirs, ours = getattr(keras.layers, cls)(**kwargs), getattr(layers, cls)(**kwargs)
    for _ in range(2):
        mine, reference = ours.get_config(), theirs.get_config()
        assert set(mine) == set(reference)
        assert {k: v for k, v in mine.items() if k != "name"} == {k: v for k, v in reference.items() if k != "name"}
        again = type(ours).from_config(mine)
        assert again.get_config() == {**mine, "name": again.name}
        theirs(*args)
        ours(*args)
    assert ours.get_build_config() == {"shapes_dict": {"query_shape": list(QUERY.shape), "value_shape":
                                                       list(args[1].shape)}}


def test_functional_shapes_and_compute_output_shape_match_keras():
    for lib in (keras.layers, layers):
        q, v = lib.Input(shape=(4, 6)), lib.Input(shape=(5, 7))
        out, scores = lib.MultiHeadAttention(2, 3, output_shape=(2, 5))(q, v, return_attention_scores=True)
        assert tuple(out.shape) == (None, 4, 2, 5)
        assert tuple(scores.shape)[:3] == (None, 2, 4)
        grid = lib.Input(shape=(3, 4, 6))
        assert tuple(lib.MultiHeadAttention(2, 3, attention_axes=(1, 2))(grid, grid).shape) == (None, 3, 4, 6)
        out = lib.GroupQueryAttention(3, 4, 2)(q, lib.Input(shape=(5, 6)))
        assert tuple(out.shape) == (None, 4, 6)
    assert scores.shape == (None, 2, 4, 5)  # ours: the key's length on the last axis
    mha = layers.MultiHeadAttention(2, 3, output_shape=4)
    assert mha.compute_output_shape((None, 4, 6), (None, 5, 7)) == keras.layers.MultiHeadAttention(
        2, 3, output_shape=4).compute_output_shape((None, 4, 6), (None, 5, 7))
    model = nablanet.Model([q, v], layers.MultiHeadAttention(2, 3)(q, v, use_causal_mask=True))
    assert model.predict([QUERY, VALUE], verbose=0).shape == (2, 4, 6)


def test_bad_inputs_name_the_layer_and_the_shapes():
    with pytest.raises(TypeError, match="key_dim"):
        layers.MultiHeadAttention(num_heads=2)
    with pytest.raises(ValueError, match="MultiHeadAttention: key_dim must be a positive integer, got None"):
        layers.MultiHeadAttention(2, None)
    with pytest.raises(ValueError, match=r"GroupedQueryAttention: num_query_heads \(3\) must be a multiple of "
                                         r"num_key_value_heads \(2\)"):
        layers.GroupQueryAttention(4, 3, 2)
    mha = layers.MultiHeadAttention(2, 3, name="mha")
    mha(QUERY, VALUE)
    with pytest.raises(ValueError, match=r"MultiHeadAttention 'mha': expected query of shape \(None, 4, 6\), as "
                                         r"built, got shape \(2, 4, 5\)"):
        mha(QUERY[..., :5], VALUE)
    with pytest.raises(ValueError, match=r"MultiHeadAttention 'mha': expected attention_mask broadcastable to .*"
                                         r"\(2, 4, 5\), got \(2, 5, 4\)"):
        mha(QUERY, VALUE, attention_mask=np.ones((2, 5, 4), bool))
    with pytest.raises(ValueError, match=r"MultiHeadAttention 'mha': expected value_mask of shape \(2, 5\) .*got "
                                         r"\(2, 4\)"):
        mha(QUERY, VALUE, value_mask=np.ones((2, 4), bool))
    with pytest.raises(ValueError, match=r"MultiHeadAttention 'kv': expected value and key of equal shapes but for "
                                         r"the last axis, got value \(2, 5, 7\) and key \(2, 4, 3\)"):
        layers.MultiHeadAttention(2, 3, name="kv")(QUERY, VALUE, KEY[:, :4])
    gqa = layers.GroupQueryAttention(3, 4, 2, name="gqa")
    with pytest.raises(ValueError, match=r"GroupedQueryAttention 'gqa': expected query and value with the same "
                                         r"last axis, got shapes \(None, 4, 6\) and \(None, 5, 7\)"):
        gqa(layers.Input(shape=(4, 6)), layers.Input(shape=(5, 7)))


@pytest.mark.filterwarnings("ignore:.*does not support masking:UserWarning")  # Keras's GQA, about its own projections
@pytest.mark.parametrize("cls, kwargs", [("GroupQueryAttention", GQA), ("MultiHeadAttention", {"num_heads": 2,
                                                                                               "key_dim": 3})])
def test_eager_padding_masks_as_keras(cls, kwargs):
    theirs_embedding, ours_embedding = keras.layers.Embedding(10, 6, mask_zero=True), layers.Embedding(10, 6,
                                                                                                        mask_zero=True)
    theirs_embedding.build((None, 6))
    ours_embedding(IDS)
    ours_embedding.set_weights([_numpy(w) for w in theirs_embedding.weights])
    theirs, ours = getattr(keras.layers, cls)(**kwargs), getattr(layers, cls)(**kwargs)
    x, y = theirs_embedding(IDS), ours_embedding(IDS)
    theirs(x, x)
    ours(y, y)
    ours.set_weights([_numpy(w) for w in theirs.weights])
    x, y = theirs_embedding(IDS), ours_embedding(IDS)
    np.testing.assert_allclose(ours(y, y).numpy(), _numpy(theirs(x, x)), rtol=1e-5, atol=1e-5)
