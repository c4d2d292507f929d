"""`nablanet.ops.image` against `keras.ops.image` on the torch backend: values, shapes and dtypes over a
table of cases, gradients with respect to the images in float64, and errors that name the op."""

import inspect

import numpy as np
import pytest

from nablanet import Tensor, grad, gradcheck, ops
from nablanet.ops import image

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

rng = np.random.default_rng(0)


def pictures(*shape, dtype="float32"):
    return rng.random(shape).astype(dtype)


def as_numpy(value):
    return keras.ops.convert_to_numpy(value)


def test_signatures_match_keras():
    for name in dir(keras.ops.image):
        if not name.startswith("_"):
            assert inspect.signature(getattr(image, name)) == inspect.signature(getattr(keras.ops.image, name)), name
    assert sorted(image.__all__) == sorted(n for n in dir(keras.ops.image) if not n.startswith("_"))


TRANSFORMS = np.array([[1.0, 0.2, -1.5, 0.1, 0.9, 0.7, 0.0, 0.0], [0.8, -0.3, 2.0, 0.25, 1.1, -1.0, 0.0, 0.0]])
CORNERS = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 5.0], [6.0, 5.0]])
MOVED = np.array([[0.5, 0.3], [5.2, -0.4], [0.8, 5.5], [6.3, 4.1]])
COORDINATES = np.stack([rng.uniform(-2, 7, (3, 4)), rng.uniform(-2, 8, (3, 4))])

# name, positional arguments, keyword arguments
CASES = [
    *[("resize", (pictures(2, 5, 6, 3), size), {"interpolation": i}) for size in [(9, 4), (3, 11), (5, 6)]
      for i in ["bilinear", "nearest", "bicubic"]],
    *[("resize", (pictures(2, 9, 7, 2), (4, 3)), {"interpolation": i, "antialias": True})
      for i in ["bilinear", "bicubic", "nearest"]],
    ("resize", (pictures(2, 4, 5, 2), (9, 7)), {"antialias": True}),
    ("resize", (pictures(2, 4, 5, 2), (9, 7)), {"interpolation": "bicubic", "antialias": True}),
    ("resize", (pictures(6, 8, 3), (4, 4)), {"crop_to_aspect_ratio": True}),
    ("resize", (pictures(2, 6, 8, 3), (5, 3)), {"crop_to_aspect_ratio": True}),
    ("resize", (pictures(2, 6, 8, 3), (4, 4)), {"pad_to_aspect_ratio": True, "fill_value": 0.5}),
    ("resize", (pictures(2, 8, 4, 3), (4, 4)), {"pad_to_aspect_ratio": True}),
    ("resize", (pictures(2, 3, 5, 6), (4, 7)), {"data_format": "channels_first"}),
    ("resize", ((pictures(5, 6, 3) * 255).astype("uint8"), (7, 4)), {}),
    ("resize", ((pictures(5, 6, 3) * 255).astype("uint8"), (7, 4)), {"interpolation": "bicubic"}),
    ("resize", (pictures(2, 5, 6, 3, dtype="float64"), (3, 8)), {}),
    ("resize", (pictures(2, 5, 6, 3, dtype="float16"), (7, 4)), {}),
    ("resize", ((pictures(2, 5, 6, 3) * 100).astype("int32"), (7, 4)), {"interpolation": "nearest"}),
    *[("affine_transform", (pictures(2, 6, 7, 3), TRANSFORMS), {"interpolation": i, "fill_mode": f})
      for i in ["bilinear", "nearest"] for f in ["constant", "nearest", "wrap", "mirror", "reflect"]],
    ("affine_transform", (pictures(6, 7, 3), TRANSFORMS[0]), {"fill_value": 0.5}),
    ("affine_transform", (pictures(2, 3, 6, 7), TRANSFORMS), {"data_format": "channels_first"}),
    ("affine_transform", ((pictures(6, 7, 3) * 255).astype("uint8"), TRANSFORMS[0]), {}),
    *[("map_coordinates", (pictures(6, 7), COORDINATES, order), {"fill_mode": f})
      for order in [0, 1] for f in ["constant", "nearest", "wrap", "mirror", "reflect"]],
    ("map_coordinates", (pictures(6, 7), COORDINATES, 1), {"fill_value": 2.0}),
    ("map_coordinates", (pictures(5, 4, 3), np.stack([rng.uniform(-1, 5, 6) for _ in range(3)]), 1), {}),
    ("map_coordinates", (np.arange(12).reshape(3, 4), COORDINATES / 2, 1), {}),
    ("perspective_transform", (pictures(2, 6, 7, 3), CORNERS, MOVED), {}),
    ("perspective_transform", (pictures(6, 7, 2), CORNERS, MOVED), {"interpolation": "nearest", "fill_value": 1}),
    ("perspective_transform", (pictures(2, 6, 7, 3), np.stack([CORNERS, MOVED]), np.stack([MOVED, CORNERS])), {}),
    ("perspective_transform", (pictures(2, 2, 6, 7), CORNERS, MOVED), {"data_format": "channels_first"}),
    *[("gaussian_blur", (pictures(2, 7, 8, 3),), {"kernel_size": k, "sigma": s, "data_format": "channels_last"})
      for k, s in [((3, 3), (1.0, 1.0)), ((5, 5), (1.5, 0.7)), ((3, 5), (1.0, 2.0))]],
    ("gaussian_blur", (pictures(7, 8, 3),), {"data_format": "channels_last"}),
    ("gaussian_blur", (pictures(2, 3, 7, 8),), {"data_format": "channels_first"}),
    ("sobel_edges", (pictures(2, 5, 6, 3),), {}),
    ("sobel_edges", (pictures(2, 3, 5, 6),), {"data_format": "channels_first"}),
    ("rgb_to_grayscale", (pictures(2, 4, 5, 3),), {}),
    ("rgb_to_grayscale", (pictures(3, 4, 5),), {"data_format": "channels_first"}),
    ("rgb_to_grayscale", ((pictures(4, 5, 3) * 255).astype("uint8"),), {}),
    ("rgb_to_grayscale", (pictures(2, 4, 5, 1),), {}),
    ("rgb_to_hsv", (pictures(2, 4, 5, 3),), {}),
    ("rgb_to_hsv", (np.array([[[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.2, 0.2, 0.9], [0.5, 0.9, 0.5]]]),), {}),
    ("rgb_to_hsv", (pictures(3, 4, 5, dtype="float64"),), {"data_format": "channels_first"}),
    ("hsv_to_rgb", (pictures(2, 4, 5, 3),), {}),
    ("hsv_to_rgb", (pictures(3, 4, 5) * 3 - 1,), {"data_format": "channels_first"}),
    ("pad_images", (pictures(2, 4, 5, 3), 1, 2, 0, 3), {}),
    ("pad_images", (pictures(4, 5, 3), None, None, 2, 1), {"target_height": 7, "target_width": 9}),
    ("pad_images", (pictures(2, 3, 4, 5), 1, None, None, 1), {"target_height": 6, "target_width": 9,
                                                                "data_format": "channels_first"}),
    ("crop_images", (pictures(2, 6, 7, 3), 1, 2, 0, 3), {}),
    ("crop_images", (pictures(6, 7, 3), None, None, 2, 1), {"target_height": 3, "target_width": 4}),
    ("crop_images", (pictures(2, 3, 6, 7), 1, None, None, 1), {"target_height": 4, "target_width": 2,
                                                                "data_format": "channels_first"}),
    ("extract_patches", (pictures(2, 6, 7, 3), 2), {}),
    ("extract_patches", (pictures(6, 7, 3), (3, 2)), {"strides": (1, 2)}),
    ("extract_patches", (pictures(2, 7, 8, 2), 3), {"strides": 2, "padding": "same"}),
    ("extract_patches", (pictures(2, 7, 8, 2), 2), {"strides": 1, "dilation_rate": 2}),
    ("extract_patches", (pictures(2, 2, 6, 7), 2), {"data_format": "channels_first"}),
    ("extract_patches", (pictures(2, 4, 5, 6, 2), (2, 2, 3)), {}),
    ("extract_patches_3d", (pictures(2, 4, 5, 6, 2), 2), {}),
    ("extract_patches_3d", (pictures(4, 5, 6, 2), (2, 3, 2)), {"strides": 1}),
    ("extract_patches_3d", (pictures(2, 5, 5, 6, 1), 3), {"strides": 2, "padding": "same"}),
    ("extract_patches_3d", (pictures(2, 2, 4, 5, 6), 2), {"data_format": "channels_first"}),
    *[("scale_and_translate", (pictures(2, 5, 6, 3), (2, 8, 4, 3), [1.6, 0.7], [0.5, -0.2], (1, 2), m),
       {"antialias": a}) for m in ["linear", "cubic", "lanczos3", "lanczos5"] for a in [True, False]],
    ("scale_and_translate", (pictures(5, 6), (9, 6), [1.8], [0.0], (0,), "bilinear"), {}),
    ("ssim", (pictures(2, 16, 16, 3), pictures(2, 16, 16, 3)), {}),
    ("ssim", (pictures(12, 13, 1), pictures(12, 13, 1)), {"filter_size": 5, "filter_sigma": 1.0, "max_val": 2.0}),
    ("ssim", (pictures(2, 2, 12, 12, dtype="float64"), pictures(2, 2, 12, 12, dtype="float64")),
     {"data_format": "channels_first", "k1": 0.02}),
]


@pytest.mark.parametrize("name, args, kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_values_match_keras(name, args, kwargs):
    expected = as_numpy(getattr(keras.ops.image, name)(*args, **kwargs))
    got = np.asarray(getattr(image, name)(*args, **kwargs))
    assert got.shape == expected.shape, f"{name}: shape {got.shape}, Keras gives {expected.shape}"
    assert got.dtype == expected.dtype, f"{name}: dtype {got.dtype}, Keras gives {expected.dtype}"
    if np.issubdtype(expected.dtype, np.integer):
        assert np.abs(got.astype(int) - expected.astype(int)).max(initial=0) <= 1  # rounding of float32 sums
    else:
        tolerance = 1e-3 if expected.dtype == np.float16 else 2e-5  # one float16 step when rounding a float32 result
        np.testing.assert_allclose(got, expected, rtol=tolerance / 2, atol=tolerance)


def test_elastic_transform_is_seeded_and_keeps_images_at_alpha_zero():
    x = pictures(2, 8, 9, 3)
    a = image.elastic_transform(x, alpha=4.0, sigma=1.0, seed=3)
    assert a.shape == x.shape and a.dtype == x.dtype
    np.testing.assert_array_equal(a, image.elastic_transform(x, alpha=4.0, sigma=1.0, seed=3))
    assert not np.allclose(a, x)
    for mode in ["constant", "nearest", "wrap", "mirror", "reflect"]:
        np.testing.assert_allclose(image.elastic_transform(x, alpha=0.0, fill_mode=mode, seed=1), x, atol=1e-6)
    first = image.elastic_transform(np.moveaxis(x, -1, 1), alpha=4.0, sigma=1.0, seed=3, data_format="channels_first")
    np.testing.assert_allclose(np.moveaxis(first, 1, -1), a, atol=1e-6)


# differentiable with respect to the images: float64 central differences
GRADIENTS = [
    ("resize-bilinear", lambda x: image.resize(x, (5, 3)), (pictures(1, 4, 5, 2, dtype="float64"),)),
    ("resize-bicubic-aa", lambda x: image.resize(x, (2, 3), interpolation="bicubic", antialias=True),
     (pictures(1, 4, 5, 2, dtype="float64"),)),
    ("resize-nearest", lambda x: image.resize(x, (6, 3), interpolation="nearest"),
     (pictures(4, 5, 1, dtype="float64"),)),
    ("affine", lambda x: image.affine_transform(x, TRANSFORMS[:1], fill_mode="reflect"),
     (pictures(1, 5, 6, 2, dtype="float64"),)),
    ("map_coordinates-values", lambda x: image.map_coordinates(x, COORDINATES, 1), (pictures(6, 7, dtype="float64"),)),
    ("map_coordinates-coordinates", lambda c: image.map_coordinates(np.arange(42.0).reshape(6, 7) ** 1.5, c, 1),
     (COORDINATES,)),
    ("perspective", lambda x: image.perspective_transform(x, CORNERS, MOVED), (pictures(6, 7, 1, dtype="float64"),)),
    ("perspective-points", lambda p: image.perspective_transform(np.sin(np.arange(42.0)).reshape(6, 7, 1), CORNERS, p),
     (MOVED + 0.0123,)),
    ("affine-transform", lambda t: image.affine_transform(np.sin(np.arange(42.0)).reshape(6, 7, 1), t),
     (np.array([[1.013, 0.217, -1.437, 0.103, 0.911, 0.689, 0.0, 0.0]]),)),  # no sample on a grid line
    ("crop", lambda x: image.crop_images(x, 1, 1, 1, 0), (pictures(4, 5, 2, dtype="float64"),)),
    ("pad", lambda x: image.pad_images(x, 1, 0, 2, 1), (pictures(4, 5, 2, dtype="float64"),)),
    ("grayscale", image.rgb_to_grayscale, (pictures(3, 4, 3, dtype="float64"),)),
    ("rgb_to_hsv", image.rgb_to_hsv, (pictures(3, 4, 3, dtype="float64"),)),
    ("hsv_to_rgb", image.hsv_to_rgb, (pictures(3, 4, 3, dtype="float64"),)),
    ("blur", lambda x: image.gaussian_blur(x, (3, 5), (1.0, 2.0)), (pictures(1, 5, 6, 2, dtype="float64"),)),
    ("sobel", image.sobel_edges, (pictures(1, 4, 5, 2, dtype="float64"),)),
    ("patches", lambda x: image.extract_patches(x, 2, strides=1, padding="same"),
     (pictures(4, 5, 2, dtype="float64"),)),
    ("ssim", lambda x, y: image.ssim(x, y, filter_size=3), (pictures(5, 5, 2, dtype="float64"),) * 2),
    ("scale_and_translate", lambda x: image.scale_and_translate(x, (3, 7), [0.7, 1.4], [0.1, 0.0], (0, 1), "cubic"),
     (pictures(4, 5, dtype="float64"),)),
]


@pytest.mark.parametrize("name, f, inputs", GRADIENTS, ids=[c[0] for c in GRADIENTS])
def test_gradients_match_central_differences(name, f, inputs):
    gradcheck(f, *inputs)


TORCH_NAMES = {"resize-bilinear", "resize-bicubic-aa", "resize-nearest", "affine", "grayscale", "rgb_to_hsv",
               "hsv_to_rgb", "blur"}
AGAINST_TORCH = [c for c in GRADIENTS if c[0] in TORCH_NAMES]


@pytest.mark.parametrize("name, f, inputs", AGAINST_TORCH, ids=[c[0] for c in AGAINST_TORCH])
def test_gradients_match_torch_through_keras(name, f, inputs):
    keras_f = {
        "resize-bilinear": lambda x: keras.ops.image.resize(x, (5, 3)),
        "resize-bicubic-aa": lambda x: keras.ops.image.resize(x, (2, 3), interpolation="bicubic", antialias=True),
        "resize-nearest": lambda x: keras.ops.image.resize(x, (6, 3), interpolation="nearest"),
        "affine": lambda x: keras.ops.image.affine_transform(x, TRANSFORMS[:1].copy(), fill_mode="reflect"),
        "grayscale": keras.ops.image.rgb_to_grayscale,
        "rgb_to_hsv": keras.ops.image.rgb_to_hsv,
        "hsv_to_rgb": keras.ops.image.hsv_to_rgb,
        "blur": lambda x: keras.ops.image.gaussian_blur(x, (3, 5), (1.0, 2.0), data_format="channels_last"),
    }[name]
    weights = np.random.default_rng(1).standard_normal(np.shape(f(*inputs)))
    ours = grad(lambda x: ops.sum(f(x) * weights))(inputs[0])
    x = torch.tensor(inputs[0], requires_grad=True)
    (keras_f(x) * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(ours, x.grad.numpy(), rtol=1e-6, atol=1e-9)


def test_second_derivatives_through_a_resize_and_a_colour_conversion():
    def f(x):
        return grad(lambda y: ops.sum(image.rgb_to_hsv(image.resize(y, (3, 2))) ** 2))(x)

    gradcheck(f, pictures(4, 5, 3, dtype="float64") * 0.8 + 0.1, rtol=1e-5)


def test_tensors_in_tensors_out():
    x = Tensor(pictures(1, 4, 5, 3), requires_grad=True)
    out = image.resize(x, (2, 2))
    assert isinstance(out, Tensor) and out.dtype == np.float32
    ops.sum(out).backward()
    assert x.grad.shape == x.shape and x.grad.dtype == np.float32


@pytest.mark.parametrize("call, message", [
    (lambda: image.resize(np.ones((4, 4)), (2, 2)), "resize: expected images of rank 3 or 4"),
    (lambda: image.resize(np.ones((4, 4, 1)), (2, 2), interpolation="area"), "resize: expected interpolation"),
    (lambda: image.resize(np.ones((4, 4, 1)), (2,)), "resize: expected size"),
    (lambda: image.resize(np.ones((4, 4, 1)), (2, 2), crop_to_aspect_ratio=True, pad_to_aspect_ratio=True),
     "resize: expected at most one"),
    (lambda: image.affine_transform(np.ones((4, 4, 1)), np.ones(6)), "affine_transform: expected transform"),
    (lambda: image.affine_transform(np.ones((4, 4, 1)), np.ones(8), fill_mode="edge"),
     "affine_transform: expected fill"),
    (lambda: image.map_coordinates(np.ones((4, 4)), [np.ones(3)], 1), "map_coordinates: expected one coordinate"),
    (lambda: image.map_coordinates(np.ones(4), [np.ones(3)], 3), "map_coordinates: order must be"),
    (lambda: image.rgb_to_hsv(np.ones((4, 4, 2))), "rgb_to_hsv: expected 3 channels"),
    (lambda: image.rgb_to_hsv(np.ones((4, 4, 3), dtype=int)), "rgb_to_hsv: expected floating-point"),
    (lambda: image.pad_images(np.ones((4, 4, 1)), 1, 1), "pad_images: expected exactly two"),
    (lambda: image.crop_images(np.ones((4, 4, 1)), 1, 1, target_height=9, target_width=1), "crop_images: "),
    (lambda: image.extract_patches(np.ones((4, 4, 1)), 5), "extract_patches: patches of size"),
    (lambda: image.perspective_transform(np.ones((4, 4, 1)), np.ones((3, 2)), np.ones((3, 2))),
     "perspective_transform: expected start_points"),
    (lambda: image.sobel_edges(np.ones((4, 4, 1))), "sobel_edges: expected images of rank 4"),
    (lambda: image.scale_and_translate(np.ones((4, 4)), (2, 2), [1.0], [0.0], (0,), "area"),
     "scale_and_translate: expected method"),
    (lambda: image.resize(np.ones((4, 4, 1)), (2, 2), data_format="NHWC"), "resize: expected data_format"),
])
def test_bad_input_names_the_op(call, message):
    with pytest.raises((ValueError, NotImplementedError), match=message):
        call()
