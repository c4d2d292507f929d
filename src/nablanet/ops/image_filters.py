"""`ops.image`'s filters: Gaussian blur, Sobel edges, SSIM, elastic transforms."""

import itertools

import numpy as np

from nablanet import backend
from nablanet.autodiff import as_array
from nablanet.autodiff.ops import getitem, mean, pad, stack, transpose
from nablanet.ops import array_inputs
from nablanet.ops.image_layout import (
    FILL_MODES, cast_like, checked_images, float_images, from_nhwc, like, restore_dtype, to_nhwc,
)
from nablanet.ops.image_sampling import interpolation_order, sample_images


# -- filters ----------------------------------------------------------------------------------------------------

def _correlate(x, kernel):
    """Valid 2-D cross-correlation of each channel of NHWC `x` with a small NumPy `kernel`."""
    kh, kw = kernel.shape
    oh, ow = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    kernel = kernel.astype(as_array(x).dtype)
    total = None
    for i, j in itertools.product(range(kh), range(kw)):
        if kernel[i, j] != 0:
            term = kernel[i, j] * getitem(x, (slice(None), slice(i, i + oh), slice(j, j + ow)))
            total = term if total is None else total + term
    return total if total is not None else getitem(x, (slice(None), slice(0, oh), slice(0, ow))) * 0


def _correlate_separable(x, rows, cols):
    """`_correlate` with the kernel `outer(rows, cols)`, one axis at a time."""
    return _correlate(_correlate(x, rows.reshape(-1, 1)), cols.reshape(1, -1))


def _gaussian(size, sigma):
    x = np.arange(size) - (size - 1) / 2
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    return kernel / kernel.sum()


def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    """Blur each channel with a Gaussian kernel of `kernel_size` and `sigma` (zero padding).

    >>> gaussian_blur(np.ones((1, 3, 3, 1)))[0, 1, 1, 0]
    np.float64(1.0)
    """
    data_format = array_inputs.data_format(data_format, "gaussian_blur")
    images = float_images(checked_images(images, "gaussian_blur"), "gaussian_blur")
    kernel_size = tuple(int(k) for k in np.broadcast_to(kernel_size, (2,)))
    sigma = tuple(float(s) for s in np.broadcast_to(sigma, (2,)))
    x, unbatched = to_nhwc(images, data_format)
    p = kernel_size[0] // 2
    x = pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    first, second = _gaussian(kernel_size[0], sigma[0]), _gaussian(kernel_size[1], sigma[1])
    if kernel_size[0] == kernel_size[1]:
        out = _correlate_separable(x, second, first)
    else:  # Keras lays the outer product out in (kernel_size[0], kernel_size[1]) order
        out = _correlate(x, np.outer(second, first).reshape(kernel_size))
    return from_nhwc(out, data_format, unbatched)


def sobel_edges(images, data_format=None):
    """Sobel gradients of each channel, stacked last as (vertical, horizontal): (..., channels, 2).

    >>> sobel_edges(np.ones((1, 3, 3, 1)))[0, 1, 1, 0]
    array([0., 0.])
    """
    data_format = array_inputs.data_format(data_format, "sobel_edges")
    images = float_images(checked_images(images, "sobel_edges", ranks=(4,)), "sobel_edges")
    x, _ = to_nhwc(images, data_format)
    x = pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    smooth, derivative = np.array([1.0, 2.0, 1.0]), np.array([-1.0, 0.0, 1.0])
    edges = stack([_correlate_separable(x, derivative, smooth), _correlate_separable(x, smooth, derivative)], -1)
    return transpose(edges, (0, 3, 1, 2, 4)) if data_format == "channels_first" else edges


def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03, data_format=None):
    """Structural similarity of two images (or batches), averaged over pixels and channels, with a
    Gaussian window of `filter_size` and `filter_sigma` (no padding).

    >>> x = np.random.default_rng(0).random((16, 16, 1))
    >>> float(ssim(x, x))
    1.0
    """
    data_format = array_inputs.data_format(data_format, "ssim")
    image1, image2 = checked_images(image1, "ssim"), checked_images(image2, "ssim")
    dtype = image1.dtype
    x, unbatched = to_nhwc(array_inputs.as_floating(image1), data_format)
    y, _ = to_nhwc(array_inputs.as_floating(image2), data_format)
    window = _gaussian(filter_size, filter_sigma)

    def blur(v):
        return _correlate_separable(v, window, window)

    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    mu1, mu2 = blur(x), blur(y)
    sigma1 = blur(x * x) - mu1 * mu1
    sigma2 = blur(y * y) - mu2 * mu2
    sigma12 = blur(x * y) - mu1 * mu2
    ssim_map = ((2.0 * mu1 * mu2 + c1) * (2.0 * sigma12 + c2)) / ((mu1 * mu1 + mu2 * mu2 + c1) * (sigma1 + sigma2 + c2))
    out = mean(ssim_map, axis=(1, 2, 3))
    out = getitem(out, (0,)) if unbatched else out
    return cast_like(out, image1) if np.issubdtype(dtype, np.floating) else like(as_array(out).astype(dtype), out)


def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear", fill_mode="reflect",
                      fill_value=0.0, seed=None, data_format=None):
    """Displace every pixel by a random field (normal noise times `sigma`, blurred with a Gaussian of
    `sigma`, scaled by `alpha`) and resample. `seed` (an int) makes the field reproducible; the draws
    come from NumPy, so they differ from Keras's.

    >>> x = np.arange(9.0).reshape(3, 3, 1)
    >>> bool(np.allclose(elastic_transform(x, alpha=0.0, seed=1), x))
    True
    """
    data_format = array_inputs.data_format(data_format, "elastic_transform")
    order = interpolation_order(interpolation, "elastic_transform")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"elastic_transform: expected fill_mode in {FILL_MODES}, got {fill_mode!r}")
    images = checked_images(images, "elastic_transform")
    x, unbatched = to_nhwc(images, data_format)
    n, h, w, c = x.shape
    generator = np.random.default_rng(seed) if seed is not None else backend.generator()
    dtype = images.dtype if np.issubdtype(images.dtype, np.floating) else np.dtype(backend.floatx())
    size = int(6 * sigma) | 1
    fields = []
    for _ in range(2):
        noise = (generator.standard_normal((n, h, w, 1)) * sigma).astype(dtype)
        fields.append(as_array(gaussian_blur(noise, (size, size), (sigma, sigma)))[..., 0])
    y_grid, x_grid = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    rows = np.broadcast_to((y_grid + alpha * fields[1])[..., None], (n, h, w, c))
    cols = np.broadcast_to((x_grid + alpha * fields[0])[..., None], (n, h, w, c))
    out = sample_images(x, rows, cols, order, fill_mode, fill_value)
    return from_nhwc(restore_dtype(out, images.dtype), data_format, unbatched)
