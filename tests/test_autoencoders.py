"""Autoencoders: the functional API they need, saving them, and the examples' results."""

import numpy as np
import pytest

import nablanet as nn
from nablanet import layers, ops

pytest.importorskip("sklearn")
from nablanet.demos import autoencoder, vae  # noqa: E402  (needs scikit-learn's data)

rng = np.random.default_rng(0)


@pytest.fixture(scope="module")
def digits():
    return autoencoder.digits()


def test_autoencoder_of_two_models_round_trips_and_its_encoder_works_alone(tmp_path):
    nn.utils.set_random_seed(0)
    model, encoder = autoencoder.dense_autoencoder(3, features=16)
    x = rng.random((40, 16), dtype=np.float32)
    model.fit(x, x, epochs=2, batch_size=8, verbose=0)
    assert model.get_layer("encoder") is encoder
    codes = model.get_layer("encoder").predict(x, verbose=0)
    np.testing.assert_allclose(model.get_layer("decoder").predict(codes, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
    model.save(tmp_path / "autoencoder.keras")
    loaded = nn.models.load_model(tmp_path / "autoencoder.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    np.testing.assert_array_equal(loaded.get_layer("encoder").predict(x, verbose=0), codes)
    loaded.fit(x, x, epochs=1, batch_size=8, verbose=0)  # and it trains on, optimizer state included


def test_a_model_inside_sequential_round_trips(tmp_path):
    encoder = nn.Sequential([nn.Input((6,)), layers.Dense(2, activation="tanh")], name="encoder")
    model = nn.Sequential([encoder, layers.Dense(6)])
    model.compile(optimizer="adam", loss="mse")
    x = rng.random((20, 6), dtype=np.float32)
    model.fit(x, x, epochs=1, verbose=0)
    model.save(tmp_path / "nested.keras")
    loaded = nn.models.load_model(tmp_path / "nested.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [type(layer).__name__ for layer in loaded.layers] == ["Sequential", "Dense"]


class Sparsity(layers.Layer):  # a loss from an intermediate tensor, as Keras's add_loss examples do
    def call(self, x):
        self.add_loss(0.5 * ops.mean(ops.abs(x)))
        return x


def test_add_loss_from_an_intermediate_tensor_joins_the_training_loss():
    inputs = nn.Input((4,))
    code = Sparsity()(layers.Dense(3)(inputs))
    model = nn.Model(inputs, layers.Dense(4)(code))
    model.compile(optimizer="sgd", loss="mse")
    x = rng.random((16, 4), dtype=np.float32)
    reconstruction_only = float(np.mean((model.predict(x, verbose=0) - x) ** 2))
    code_values = nn.Model(inputs, code).predict(x, verbose=0)
    expected = reconstruction_only + 0.5 * np.mean(np.abs(code_values))
    assert model.evaluate(x, x, verbose=0, batch_size=16) == pytest.approx(expected, rel=1e-5)


def test_sampling_gradient_matches_finite_differences_for_a_fixed_draw():
    def sample(mean, log_var):  # a fresh layer with the same seed: the same noise every call
        return ops.sum(ops.square(vae.Sampling(seed=3)([mean, log_var])))

    assert nn.gradcheck(sample, rng.normal(size=(4, 2)), rng.normal(size=(4, 2)))


def test_sampling_draws_from_the_shared_generator_without_a_seed():
    mean, log_var = np.zeros((1000, 2), np.float32), np.full((1000, 2), np.log(4.0), np.float32)
    nn.utils.set_random_seed(1)
    z = vae.Sampling()([mean, log_var]).numpy()
    assert abs(z.std() - 2.0) < 0.1
    nn.utils.set_random_seed(1)
    np.testing.assert_array_equal(vae.Sampling()([mean, log_var]).numpy(), z)


def test_vae_loss_decreases_and_reports_its_kl_term(digits):
    history = vae.train(digits, epochs=8, out=lambda *_: None)
    assert set(history) == {"total_loss", "reconstruction_loss", "kl_loss"}
    assert history["total_loss"][-1] < 0.8 * history["total_loss"][0]
    assert all(kl > 0 for kl in history["kl_loss"])
    np.testing.assert_allclose(np.add(history["reconstruction_loss"], history["kl_loss"]), history["total_loss"],
                               rtol=1e-5)


def test_dimensionality_reduction_beats_pca_at_ten(digits):
    (mse, pca), = autoencoder.reduce_dimensions(digits, dimensions=(10,), epochs=15, out=lambda *_: None).values()
    assert mse < pca


def test_two_dimensional_codes_are_plotted(digits, tmp_path):
    pytest.importorskip("matplotlib")
    autoencoder.reduce_dimensions(digits, dimensions=(2,), epochs=2, directory=str(tmp_path), out=lambda *_: None)
    assert (tmp_path / "codes_2d.png").stat().st_size > 10_000


def test_anomaly_detector_reaches_roc_auc_090_and_beats_the_baselines():
    result = autoencoder.detect_anomalies(out=lambda *_: None)
    assert result["roc_auc"] >= 0.90
    assert result["roc_auc"] > result["baseline_roc_auc"] + 0.2  # distance from the training mean
    untrained = autoencoder.detect_anomalies(epochs=1, out=lambda *_: None)
    assert result["roc_auc"] > untrained["roc_auc"] + 0.2  # the training, not the scoring, does it
    assert result["f1"] > 0.8


def test_denoiser_raises_psnr(digits):
    before, after = autoencoder.denoise(digits, epochs=10, out=lambda *_: None)
    assert after > before + 1.0


def test_psnr_and_pca_helpers():
    assert autoencoder.psnr(np.zeros(4), np.full(4, 0.1)) == pytest.approx(20.0)
    x = rng.random((30, 5))
    assert autoencoder.pca_mse(x, x, 5) == pytest.approx(0.0, abs=1e-20)
