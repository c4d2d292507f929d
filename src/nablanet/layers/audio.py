"""Audio front ends: STFTSpectrogram (a short-time Fourier transform as convolutions with the
STFT kernels, which may train) and MelSpectrogram (a fixed mel-scaled power spectrogram, in dB).

Both follow Keras's numerics on its torch backend: STFTSpectrogram is two 1-D convolutions,
MelSpectrogram is `keras.ops.stft` (torch's framing) and a triangular mel filter bank.
"""

import math
import warnings

import numpy as np

from nablanet import backend, initializers, ops
from nablanet.autodiff.tensor import as_array
from nablanet.layers.base import Layer
from nablanet.layers.input_spec import InputSpec

_MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")


class STFTSpectrogram(Layer):
    """The spectrogram of each channel of `(batch, time, channels)` signals (channels_last), by
    convolving them with the real and imaginary STFT kernels (`initializers.STFT`), which are
    weights and so may be trained.

    Args:
        mode: "log" (log magnitude), "magnitude", "psd" (power, one-sided), "real", "imag",
            "angle" or "stft" (real and imaginary parts concatenated on the frequency axis).
        frame_length: The window length in samples.
        frame_step: The hop between frames (default `frame_length // 2`).
        fft_length: The FFT size (default the next power of two of `frame_length`); it gives
            `fft_length // 2 + 1` frequency bins.
        window, periodic, scaling: As `initializers.STFT`'s.
        padding: "valid" or "same", as a convolution's.
        expand_dims: Keep the channels on their own axis: `(batch, frames, bins, channels)`,
            instead of `(batch, frames, bins * channels)`.
        data_format: "channels_last" or "channels_first".

    Example:
        >>> STFTSpectrogram(frame_length=8, frame_step=4)(np.ones((2, 32, 1))).shape
        (2, 7, 5)
    """

    fixed_last_axis = False  # signals of any length and any number of channels: each is convolved alone

    def __init__(self, mode="log", frame_length=256, frame_step=None, fft_length=None, window="hann", periodic=False,
                 scaling="density", padding="valid", expand_dims=False, data_format=None, **kwargs):
        if frame_step is not None and (frame_step > frame_length or frame_step < 1):
            raise ValueError(f"STFTSpectrogram: frame_step must be a positive integer not greater than frame_length "
                             f"({frame_length}), got {frame_step}")
        if fft_length is not None and fft_length < frame_length:
            raise ValueError(f"STFTSpectrogram: fft_length must be at least frame_length ({frame_length}), got "
                             f"{fft_length}")
        if fft_length is not None and fft_length & -fft_length != fft_length:
            warnings.warn(f"STFTSpectrogram: fft_length is best a power of two, got {fft_length}", stacklevel=2)
        if mode not in _MODES:
            raise ValueError(f"STFTSpectrogram: mode must be one of {', '.join(_MODES)}, got {mode!r}")
        if scaling not in (None, "density", "spectrum"):
            raise ValueError(f"STFTSpectrogram: scaling must be None, 'density' or 'spectrum', got {scaling!r}")
        if padding not in ("valid", "same"):
            raise ValueError(f"STFTSpectrogram: padding must be 'valid' or 'same', got {padding!r}")
        if isinstance(window, str):
            initializers.get_window(window, 1)
        data_format = data_format or backend.image_data_format()
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"STFTSpectrogram: data_format must be 'channels_last' or 'channels_first', got "
                             f"{data_format!r}")
        super().__init__(**kwargs)
        self.mode, self.frame_length, self.frame_step, self.fft_length = mode, frame_length, frame_step, fft_length
        self._frame_step = frame_step or frame_length // 2
        self._fft_length = fft_length or 2 ** int(math.ceil(math.log2(frame_length)))
        self.window, self.periodic, self.scaling, self.padding = window, periodic, scaling, padding
        self.expand_dims, self.data_format = expand_dims, data_format
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape):
        shape = (self.frame_length, 1, self._fft_length // 2 + 1)
        if self.mode != "imag":
            self.real_kernel = self.add_weight(
                shape, initializers.STFT("real", self.window, self.scaling, self.periodic), name="real_kernel")
        if self.mode != "real":
            self.imag_kernel = self.add_weight(
                shape, initializers.STFT("imag", self.window, self.scaling, self.periodic), name="imag_kernel")

    def _convolve(self, inputs, kernel):
        """Each channel on its own: `(batch, channels, bins, frames)`."""
        if self.data_format == "channels_last":
            _, steps, channels = inputs.shape
            signals = ops.reshape(ops.transpose(inputs, (0, 2, 1)), (-1, steps, 1))
        else:
            _, channels, steps = inputs.shape
            signals = ops.reshape(inputs, (-1, 1, steps))
        out = ops.conv(signals, ops.cast(kernel, inputs.dtype), strides=self._frame_step, padding=self.padding,
                       data_format=self.data_format)
        if self.data_format == "channels_last":
            out = ops.transpose(out, (0, 2, 1))
        return ops.reshape(out, (-1, channels) + tuple(out.shape[1:]))

    def _arrange(self, outputs):
        """`(batch, channels, bins, frames)` to the layer's output layout."""
        _, channels, bins, frames = outputs.shape
        if self.data_format == "channels_last":
            if self.expand_dims:
                return ops.transpose(outputs, (0, 3, 2, 1))
            return ops.transpose(ops.reshape(outputs, (-1, channels * bins, frames)), (0, 2, 1))
        if self.expand_dims:
            return ops.transpose(outputs, (0, 1, 3, 2))
        return ops.reshape(outputs, (-1, channels * bins, frames))

    def call(self, inputs):
        if np.dtype(inputs.dtype).name not in ("float16", "float32", "float64"):
            raise TypeError(f"STFTSpectrogram {self.name!r}: expected float16, float32 or float64 inputs, got "
                            f"{inputs.dtype}")
        real = self._convolve(inputs, self.real_kernel) if self.mode != "imag" else None
        imag = self._convolve(inputs, self.imag_kernel) if self.mode != "real" else None
        if self.mode in ("real", "imag"):
            return self._arrange(real if self.mode == "real" else imag)
        if self.mode == "angle":
            return self._arrange(ops.arctan2(imag, real))
        if self.mode == "stft":
            return self._arrange(ops.concatenate([real, imag], axis=2))
        power = ops.square(real) + ops.square(imag)
        if self.mode == "psd":  # the bins between DC and Nyquist count twice: one side holds both
            return self._arrange(power + ops.pad(power[:, :, 1:-1, :], [(0, 0), (0, 0), (1, 1), (0, 0)]))
        magnitude = self._arrange(ops.sqrt(ops.maximum(power, backend.epsilon())))
        if self.mode == "magnitude":
            return magnitude
        return ops.log(ops.maximum(magnitude, backend.epsilon()))

    def compute_output_shape(self, input_shape):
        channels = input_shape[-1] if self.data_format == "channels_last" else input_shape[1]
        steps = input_shape[1] if self.data_format == "channels_last" else input_shape[2]
        bins = (self._fft_length // 2 + 1) * (2 if self.mode == "stft" else 1)
        if steps is None:
            frames = None
        elif self.padding == "same":
            frames = -(-steps // self._frame_step)
        else:
            frames = (steps - self.frame_length) // self._frame_step + 1
        if self.expand_dims:
            if self.data_format == "channels_last":
                return (input_shape[0], frames, bins, channels)
            return (input_shape[0], channels, frames, bins)
        width = None if channels is None else bins * channels
        return (input_shape[0], frames, width) if self.data_format == "channels_last" else (input_shape[0], width,
                                                                                                frames)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "frame_length": self.frame_length,
                "frame_step": self.frame_step, "fft_length": self.fft_length, "window": self.window,
                "periodic": self.periodic, "scaling": self.scaling, "padding": self.padding,
                "data_format": self.data_format, "expand_dims": self.expand_dims}


_MEL_BREAK_HERTZ = 700.0
_MEL_HIGH_FREQUENCY_Q = 1127.0


def _hertz_to_mel(hertz):
    work = np.asarray(hertz).dtype.type
    return work(_MEL_HIGH_FREQUENCY_Q) * np.log(work(1) + hertz / work(_MEL_BREAK_HERTZ))


class MelSpectrogram(Layer):
    """The mel-scaled power spectrogram of raw audio: `(batch, samples)` (or one `(samples,)`
    signal) in, `(batch, num_mel_bins, frames)` out, in dB unless `power_to_db=False`. A fixed
    transform with no weights.

    The frames are `keras.ops.stft`'s (centred, reflected at the ends); each magnitude is raised to
    `mag_exp`, mapped through triangular mel filters between `min_freq` and `max_freq`, and, in
    dB, taken relative to `ref_power` and floored at `top_db` below the batch's maximum.

    Args:
        fft_length: The FFT size.
        sequence_stride: The hop between frames.
        sequence_length: The window length (default `fft_length`).
        window: "hann", "hamming" or None.
        sampling_rate: The audio's sampling rate in Hz.
        num_mel_bins: The number of mel bands.
        min_freq, max_freq: The frequency range of the filters (max default: `sampling_rate / 2`).
        power_to_db, top_db, mag_exp, min_power, ref_power: As described above.

    Example:
        >>> MelSpectrogram(fft_length=64, sequence_stride=16, num_mel_bins=8)(np.ones((2, 128))).shape
        (2, 8, 9)
    """

    fixed_last_axis = False
    fixed_rank = False

    def __init__(self, fft_length=2048, sequence_stride=512, sequence_length=None, window="hann", sampling_rate=16000,
                 num_mel_bins=128, min_freq=20.0, max_freq=None, power_to_db=True, top_db=80.0, mag_exp=2.0,
                 min_power=1e-10, ref_power=1.0, **kwargs):
        self.fft_length, self.sequence_stride = fft_length, sequence_stride
        self.sequence_length = sequence_length or fft_length
        if self.fft_length < self.sequence_length:
            raise ValueError(f"MelSpectrogram: fft_length must be at least sequence_length "
                             f"({self.sequence_length}), got {fft_length}")
        self.window, self.sampling_rate, self.num_mel_bins = window, sampling_rate, num_mel_bins
        self.min_freq, self.max_freq = min_freq, max_freq or int(sampling_rate / 2)
        self.power_to_db, self.top_db, self.mag_exp = power_to_db, top_db, mag_exp
        self.min_power, self.ref_power = min_power, ref_power
        super().__init__(**kwargs)
        self.built = True

    def call(self, inputs):
        dtype = self.dtype if self.dtype in ("float32", "float64") else "float32"
        signal = np.asarray(as_array(inputs), dtype=dtype)
        if signal.ndim not in (1, 2):
            raise ValueError(f"MelSpectrogram {self.name!r}: expected audio of shape (batch, samples) or (samples,), "
                             f"got shape {signal.shape}")
        real, imag = ops.stft(signal, self.sequence_length, self.sequence_stride, self.fft_length,
                              window=self.window, center=True)
        spectrum = np.power(np.sqrt(np.square(as_array(real)) + np.square(as_array(imag))), self.mag_exp)
        matrix = self.linear_to_mel_weight_matrix(self.num_mel_bins, spectrum.shape[-1], self.sampling_rate,
                                                  self.min_freq, self.max_freq, dtype=dtype)
        mel = np.tensordot(spectrum, matrix, axes=1)
        if self.power_to_db:
            mel = 10.0 * np.log10(np.maximum(mel, self.min_power))
            mel = mel - 10.0 * np.log10(np.maximum(abs(self.ref_power), self.min_power))
            mel = np.maximum(mel, np.max(mel) - self.top_db)  # the floor is the whole batch's, as Keras's
        return ops.convert_to_tensor(np.swapaxes(mel, -1, -2).astype(self.dtype))

    def linear_to_mel_weight_matrix(self, num_mel_bins=20, num_spectrogram_bins=129, sampling_rate=8000,
                                    lower_edge_hertz=125.0, upper_edge_hertz=3800.0, dtype="float32"):
        """The `(num_spectrogram_bins, num_mel_bins)` matrix of triangular mel filters (the DC bin's
        row is zero): each band rises from its lower edge to its centre and falls to its upper
        edge, the edges evenly spaced on the mel scale."""
        work = np.dtype(dtype).type  # in that precision, as Keras rounds
        linear = np.linspace(work(0), work(sampling_rate) / work(2), num_spectrogram_bins, dtype=work)[1:]
        bins_mel = _hertz_to_mel(linear)[:, None]
        edges = np.linspace(_hertz_to_mel(work(lower_edge_hertz)), _hertz_to_mel(work(upper_edge_hertz)),
                            num_mel_bins + 2, dtype=work)
        lower, center, upper = edges[None, :-2], edges[None, 1:-1], edges[None, 2:]
        weights = np.maximum(work(0), np.minimum((bins_mel - lower) / (center - lower),
                                                 (upper - bins_mel) / (upper - center)))
        return np.pad(weights, [(1, 0), (0, 0)]).astype(dtype)

    def compute_output_shape(self, input_shape):
        steps = input_shape[-1]
        frames = None if steps is None else 1 + steps // self.sequence_stride
        if len(input_shape) == 1:
            return (self.num_mel_bins, frames)
        return (input_shape[0], self.num_mel_bins, frames)

    def get_config(self):
        return {**super().get_config(), "fft_length": self.fft_length, "sequence_stride": self.sequence_stride,
                "sequence_length": self.sequence_length, "window": self.window, "sampling_rate": self.sampling_rate,
                "num_mel_bins": self.num_mel_bins, "min_freq": self.min_freq, "max_freq": self.max_freq,
                "power_to_db": self.power_to_db, "top_db": self.top_db, "mag_exp": self.mag_exp,
                "min_power": self.min_power, "ref_power": self.ref_power}
