"""ReversibleEmbedding against Keras (torch backend): both directions on copied weights, soft cap,
reverse dtype, masks, gradients, configs and `.keras` files both ways."""

import numpy as np
import pytest

from nablanet import gradcheck, layers

keras = pytest.importorskip("keras")

rng = np.random.default_rng(9)
IDS = np.array([[1, 0, 3], [4, 6, 0]])
VECTORS = rng.standard_normal((2, 3, 4)).astype(np.float32)


@pytest.mark.parametrize("kwargs", [{}, {"tie_weights": False, "logit_soft_cap": 2.0, "mask_zero": True},
                                    {"reverse_dtype": "float64"}])
def test_both_directions_match_keras_on_copied_weights(kwargs):
    theirs, ours = keras.layers.ReversibleEmbedding(7, 4, **kwargs), layers.ReversibleEmbedding(7, 4, **kwargs)
    theirs(IDS), ours(IDS)
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    embedded = ours(IDS)
    np.testing.assert_allclose(embedded.numpy(), keras.ops.convert_to_numpy(theirs(IDS)), rtol=1e-6)
    expected_mask = IDS != 0 if kwargs.get("mask_zero") else None
    np.testing.assert_array_equal(getattr(embedded, "_keras_mask", None), expected_mask)
    logits = ours(VECTORS, reverse=True)
    expected = keras.ops.convert_to_numpy(theirs(VECTORS, reverse=True))
    assert logits.dtype == np.dtype(kwargs.get("reverse_dtype", "float32"))  # Keras's torch matmul gives float32
    assert getattr(logits, "_keras_mask", None) is None
    np.testing.assert_allclose(logits.numpy(), expected, rtol=1e-5, atol=1e-6)
    theirs_config = {k: v for k, v in theirs.get_config().items() if k != "name"}
    assert {k: v for k, v in ours.get_config().items() if k != "name"} == theirs_config
    assert layers.ReversibleEmbedding.from_config(ours.get_config()).tie_weights == kwargs.get("tie_weights", True)


@pytest.mark.parametrize("tie_weights", [True, False])
def test_reverse_gradients_in_float64(tie_weights):
    layer = layers.ReversibleEmbedding(5, 3, tie_weights=tie_weights, logit_soft_cap=1.5, dtype="float64")
    layer(IDS % 5)
    kernel = layer.embeddings if tie_weights else layer.reverse_embeddings
    name = "embeddings" if tie_weights else "reverse_embeddings"

    def f(x, weight):
        saved = getattr(layer, name)
        setattr(layer, name, weight)
        try:
            return layer.call(x, reverse=True)
        finally:
            setattr(layer, name, saved)

    gradcheck(f, rng.standard_normal((2, 3)), kernel.numpy())


def test_functional_shapes_and_errors():
    layer = layers.ReversibleEmbedding(7, 4)
    ids = layers.Input((3,), dtype="int32")
    vectors = layer(ids)
    assert vectors.shape == (None, 3, 4) and layer(vectors, reverse=True).shape == (None, 3, 7)
    assert layer.compute_output_shape((2, 3, 4), reverse=True) == (2, 3, 7)
    with pytest.raises(ValueError, match="takes vectors of length 4 \\(output_dim\\), got shape \\(2, 5\\)"):
        layer(np.ones((2, 5), np.float32), reverse=True)


def test_keras_files_both_ways(tmp_path, keras_files_both_ways):
    def build(lib, sequential):
        return sequential([lib.Input((3,), dtype="int32"), lib.ReversibleEmbedding(7, 4, tie_weights=False),
                           lib.Dense(4)])

    paths = keras_files_both_ways(tmp_path, build, IDS)
    assert "layers/reversible_embedding/vars/1" in paths
