"""Attention and AdditiveAttention: Keras's outputs on the same weights (dot and concat scores,
scale, masks, causal), float64 gradients, configs, functional shapes, masks and errors."""

import numpy as np
import pytest

from nablanet import layers

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)
Q = RNG.standard_normal((2, 4, 6)).astype(np.float32)
V = RNG.standard_normal((2, 5, 6)).astype(np.float32)
K = RNG.standard_normal((2, 5, 6)).astype(np.float32)
MASKS = [RNG.random((2, 4)) > 0.3, RNG.random((2, 5)) > 0.3]

LAYERS = [("Attention", {}), ("Attention", {"use_scale": True}), ("Attention", {"score_mode": "concat"}),
          ("Attention", {"score_mode": "concat", "use_scale": True}), ("AdditiveAttention", {}),
          ("AdditiveAttention", {"use_scale": False})]
CALLS = {
    "query, value": ([Q, V], {}),
    "with key, scores": ([Q, V, K], {"return_attention_scores": True}),
    "masks": ([Q, V, K], {"mask": MASKS}),
    "masks, causal, scores": ([Q, V], {"mask": MASKS, "use_causal_mask": True, "return_attention_scores": True}),
    "causal": ([Q, V], {"use_causal_mask": True}),
    "training without dropout": ([Q, V], {"training": True}),
}


@pytest.mark.parametrize("cls, kwargs", LAYERS)
@pytest.mark.parametrize("inputs, call", CALLS.values(), ids=CALLS.keys())
def test_matches_keras_on_the_same_weights(cls, kwargs, inputs, call):
    theirs, ours = getattr(keras.layers, cls)(**kwargs), getattr(layers, cls)(**kwargs)
    theirs(inputs, **call)
    ours(inputs, **call)
    assert [(w.name.split("/")[-1], tuple(w.shape)) for w in ours.weights] == [(w.name, tuple(w.shape))
                                                                               for w in theirs.weights]
    weights = [np.random.default_rng(1).uniform(0.5, 1.5, tuple(w.shape)).astype(np.float32) for w in theirs.weights]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    expected, got = theirs(inputs, **call), ours(inputs, **call)
    expected, got = (expected, got) if isinstance(expected, tuple) else ((expected,), (got,))
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g.numpy(), keras.ops.convert_to_numpy(e), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls, kwargs", LAYERS)
def test_gradients_with_masks(cls, kwargs):
    from nablanet import gradcheck

    rng = np.random.default_rng(2)
    q, v, k = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 4)), rng.standard_normal((2, 4, 4))
    layer = getattr(layers, cls)(**kwargs, dtype="float64")
    layer([q, v, k])
    owners = [name for name, value in vars(layer).items() if any(value is w for w in layer.trainable_weights)]

    def f(query, value, key, *weights):
        saved = {name: getattr(layer, name) for name in owners}
        for name, w in zip(owners, weights):
            setattr(layer, name, w)
        try:
            out, scores = layer.call([query, value, key], mask=[np.array([[1, 1, 0]] * 2, bool), None],
                                     return_attention_scores=True, use_causal_mask=True)
            return out + scores.sum()
        finally:
            for name, w in saved.items():
                setattr(layer, name, w)

    weights = [getattr(layer, name).numpy() for name in owners]
    assert len(weights) == len(layer.trainable_weights)
    gradcheck(f, q, v, k, *[np.random.default_rng(3).uniform(0.5, 1.5, np.shape(w)) for w in weights])


@pytest.mark.parametrize("cls, kwargs", LAYERS)
def test_configs_are_keras(cls, kwargs):
    theirs, ours = getattr(keras.layers, cls)(**kwargs, seed=3), getattr(layers, cls)(**kwargs, seed=3)
    mine, reference = ours.get_config(), theirs.get_config()
    assert {k: v for k, v in mine.items() if k != "name"} == {k: v for k, v in reference.items() if k != "name"}
    again = type(ours).from_config(mine)
    assert again.get_config() == {**mine, "name": again.name}


def test_functional_shapes_and_masks():
    ids = layers.Input(shape=(5,), dtype="int32")
    x = layers.Embedding(10, 6, mask_zero=True)(ids)
    q = layers.Input(shape=(4, 6))
    out, scores = layers.Attention()([q, x], return_attention_scores=True)
    assert out.shape == (None, 4, 6) and scores.shape == (None, 4, 5)
    assert layers.AdditiveAttention()([x, q]).shape == (None, 5, 6)
    assert layers.Attention().compute_output_shape([(None, 4, 6), (None, 5, 3), (None, 5, 6)]) == (None, 4, 3)
    embedding = layers.Embedding(10, 6, mask_zero=True)
    tokens = np.array([[1, 2, 0, 0, 0], [3, 4, 5, 6, 0]])
    seq = embedding(tokens)
    attended = layers.Attention()([seq, seq])
    np.testing.assert_array_equal(attended._keras_mask, tokens != 0)
    np.testing.assert_array_equal(attended.numpy()[0, 2:], 0)  # masked query steps give zeros
    theirs = keras.layers.Attention()([keras.layers.Embedding(10, 6, mask_zero=True)(tokens)] * 2)
    assert np.array_equal(keras.ops.convert_to_numpy(theirs._keras_mask), tokens != 0)


def test_dropout_draws_from_the_layers_seed():
    outs = [layers.Attention(dropout=0.5, seed=4)([Q, V], training=True).numpy() for _ in range(2)]
    np.testing.assert_array_equal(outs[0], outs[1])
    layer = layers.AdditiveAttention(dropout=0.5, seed=4)
    assert not np.allclose(layer([Q, V], training=True).numpy(), layer([Q, V]).numpy())


def test_bad_inputs_name_the_layer_and_the_shapes():
    with pytest.raises(ValueError, match=r"Attention: score_mode must be 'dot' or 'concat', got 'cosine'"):
        layers.Attention(score_mode="cosine")
    with pytest.raises(ValueError, match=r"Attention 'a': expected a list \[query, value\] or \[query, value, key\], "
                                         r"got a single input of shape \(2, 4, 6\)"):
        layers.Attention(name="a")(Q)
    with pytest.raises(ValueError, match=r"Attention 'b': expected query and key with the same last axis, got shapes "
                                         r"\(2, 4, 6\) and \(2, 5, 3\)"):
        layers.Attention(name="b")([Q, V, K[..., :3]])
    with pytest.raises(ValueError, match=r"AdditiveAttention 'c': expected a value mask of shape \(2, 5\), got "
                                         r"\(2, 4\)"):
        layers.AdditiveAttention(name="c")([Q, V], mask=[None, MASKS[0]])
