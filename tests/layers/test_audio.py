"""STFTSpectrogram and MelSpectrogram against Keras (torch backend): every mode and layout, the
STFT kernels' gradients, configs, `.keras` files both ways and bad input."""

import numpy as np
import pytest

from nablanet import gradcheck, layers

keras = pytest.importorskip("keras")

rng = np.random.default_rng(12)
SIGNALS = rng.standard_normal((2, 100, 2)).astype(np.float32)
AUDIO = rng.standard_normal((2, 400)).astype(np.float32)

STFT_CASES = [
    {}, {"mode": "magnitude", "padding": "same"}, {"mode": "psd", "expand_dims": True},
    {"mode": "stft", "window": "hamming", "periodic": True, "scaling": "spectrum"}, {"mode": "angle"},
    {"mode": "real", "fft_length": 32, "data_format": "channels_first"},
    {"mode": "imag", "window": None, "expand_dims": True, "data_format": "channels_first"},
]


@pytest.mark.parametrize("kwargs", STFT_CASES, ids=lambda kwargs: kwargs.get("mode", "log"))
def test_stft_spectrogram_matches_keras(kwargs):
    kwargs = {"frame_length": 16, "frame_step": 8, **kwargs}
    x = SIGNALS if kwargs.get("data_format") != "channels_first" else np.ascontiguousarray(SIGNALS.transpose(0, 2, 1))
    theirs, ours = keras.layers.STFTSpectrogram(**kwargs), layers.STFTSpectrogram(**kwargs)
    expected, got = keras.ops.convert_to_numpy(theirs(x)), ours(x).numpy()
    assert got.shape == expected.shape == tuple(theirs.compute_output_shape(x.shape))
    assert ours.compute_output_shape(x.shape) == tuple(theirs.compute_output_shape(x.shape))
    if kwargs.get("mode") == "angle":  # the angle of a real bin is pi or -pi by the sign of a zero
        got, expected = np.cos(got) + 1j * np.sin(got), np.cos(expected) + 1j * np.sin(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert {k: v for k, v in ours.get_config().items() if k != "name"} == \
        {k: v for k, v in theirs.get_config().items() if k != "name"}


@pytest.mark.parametrize("mode", ["log", "psd", "stft"])
def test_stft_spectrogram_gradients_in_float64(mode):
    layer = layers.STFTSpectrogram(mode=mode, frame_length=8, frame_step=4, fft_length=8, dtype="float64")
    x = rng.standard_normal((1, 24, 2))
    layer(x)

    def f(inputs, real_kernel, imag_kernel):
        saved = layer.real_kernel, layer.imag_kernel
        layer.real_kernel, layer.imag_kernel = real_kernel, imag_kernel
        try:
            return layer.call(inputs)
        finally:
            layer.real_kernel, layer.imag_kernel = saved

    gradcheck(f, x, layer.real_kernel.numpy(), layer.imag_kernel.numpy())


MEL_CASES = [{}, {"power_to_db": False, "mag_exp": 1.0, "window": "hamming", "sequence_length": 48},
             {"window": None, "ref_power": 2.0, "top_db": 20.0, "min_freq": 100.0, "max_freq": 3000.0}]


@pytest.mark.parametrize("kwargs", MEL_CASES)
def test_mel_spectrogram_matches_keras(kwargs):
    kwargs = {"fft_length": 64, "sequence_stride": 16, "num_mel_bins": 10, "sampling_rate": 8000, **kwargs}
    theirs, ours = keras.layers.MelSpectrogram(**kwargs), layers.MelSpectrogram(**kwargs)
    for audio in (AUDIO, AUDIO[0]):
        expected, got = keras.ops.convert_to_numpy(theirs(audio)), ours(audio).numpy()
        assert got.shape == expected.shape == ours.compute_output_shape(audio.shape)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 if ours.power_to_db else 1e-6)
    matrix = keras.ops.convert_to_numpy(theirs.linear_to_mel_weight_matrix(10, 33, 8000, 20.0, 4000.0))
    mine = ours.linear_to_mel_weight_matrix(10, 33, 8000, 20.0, 4000.0)
    np.testing.assert_allclose(mine, matrix, rtol=1e-5, atol=1e-6)
    assert ours.get_config() == {**theirs.get_config(), "name": ours.name}


def test_keras_files_both_ways(tmp_path, keras_files_both_ways):
    def build(lib, sequential):
        return sequential([lib.Input((100, 2)), lib.STFTSpectrogram(mode="magnitude", frame_length=16,
                                                                     frame_step=8), lib.Dense(3)])

    assert "layers/stft_spectrogram/vars/1" in keras_files_both_ways(tmp_path, build, SIGNALS)

    def mel(lib, sequential):
        return sequential([lib.Input((400,)), lib.MelSpectrogram(fft_length=64, sequence_stride=16, num_mel_bins=8),
                           lib.Dense(2)])

    keras_files_both_ways(tmp_path, mel, AUDIO)


def test_stft_spectrogram_takes_any_length_and_channel_count():
    for data_format in ("channels_last", "channels_first"):
        layer = layers.STFTSpectrogram(frame_length=8, frame_step=4, data_format=data_format)
        layer(np.ones((1, 40, 2) if data_format == "channels_last" else (1, 2, 40), np.float32))
        shape = (2, 24, 3) if data_format == "channels_last" else (2, 3, 24)
        assert layer(np.ones(shape, np.float32)).shape == layer.compute_output_shape(shape)


def test_bad_input_names_the_layer_and_the_problem():
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
        layers.STFTSpectrogram(frame_length=8)(np.ones((2, 50), np.float32))
    with pytest.raises(ValueError, match="mode must be one of log, magnitude"):
        layers.STFTSpectrogram(mode="power")
    with pytest.raises(ValueError, match="frame_step must be a positive integer not greater than frame_length"):
        layers.STFTSpectrogram(frame_length=8, frame_step=9)
    with pytest.raises(ValueError, match="fft_length must be at least frame_length \\(16\\), got 8"):
        layers.STFTSpectrogram(frame_length=16, fft_length=8)
    with pytest.warns(UserWarning, match="fft_length is best a power of two, got 24"):
        layers.STFTSpectrogram(frame_length=16, fft_length=24)
    with pytest.raises(ValueError, match="fft_length must be at least sequence_length \\(128\\), got 64"):
        layers.MelSpectrogram(fft_length=64, sequence_length=128)
    with pytest.raises(ValueError, match="expected audio of shape \\(batch, samples\\) or \\(samples,\\), got shape"):
        layers.MelSpectrogram(fft_length=64)(np.ones((2, 3, 400), np.float32))
