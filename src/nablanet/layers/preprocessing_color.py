"""Colour augmentation layers of Keras 3: brightness, colour degeneration, grayscale, hue,
saturation, inversion, posterization, solarization, sharpness, Gaussian blur and colour jitter.

Each follows Keras's `get_random_transformation` / `transform_images` split (see
`preprocessing_image`), with Keras's `factor` ranges and transformation keys; pixel values are
expected in `value_range`. Labels, masks and boxes pass through unchanged, as in Keras.
"""

import numpy as np

from nablanet import backend, ops
from nablanet.autodiff import as_array
from nablanet.layers.preprocessing_image import (
    BaseImagePreprocessingLayer,
    factor_of,
    per_image,
    rescale,
    value_range_of,
)
from nablanet.names import unique_name


def uniform(generator, low, high, shape):
    return generator.uniform(low, high, shape).astype(backend.floatx())


class _ColorLayer(BaseImagePreprocessingLayer):
    """A colour layer with a `factor` (Keras's bounds in `bounds`) and a `value_range`."""

    bounds = (-1, 1)

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_of(factor, self.bounds, type(self).__name__)
        self.value_range = value_range_of(value_range, type(self).__name__)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}


class RandomBrightness(_ColorLayer):
    """Add `delta * (max - min)` of `value_range` to each image, `delta` uniform in `factor`
    (a number f means `[-f, f]`), then clip to `value_range`.

    >>> RandomBrightness((0.1, 0.1), value_range=(0, 1))(np.zeros((1, 1, 1, 3)))[0, 0, 0].numpy()
    array([0.1, 0.1, 0.1], dtype=float32)
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(factor, value_range, seed=seed, **kwargs)

    def get_random_transformation(self, data, training=True, seed=None):
        shape = (self.batch_size(data), 1, 1, 1)
        if not training:
            return {"rgb_delta": np.zeros(shape, backend.floatx())}
        delta = uniform(self.generator(seed), *self.factor, shape)
        return {"rgb_delta": delta * (self.value_range[1] - self.value_range[0])}

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        delta = per_image(transformation["rgb_delta"], len(images.shape)).astype(images.dtype)
        return ops.clip(images + delta, *self.value_range)


class RandomColorDegeneration(_ColorLayer):
    """Blend each image towards its grayscale version by a random `factor` (1: fully gray).

    >>> RandomColorDegeneration((1.0, 1.0))(np.array([[[[255.0, 0.0, 0.0]]]]))[0, 0, 0].numpy().round(2)
    array([76.22, 76.22, 76.22], dtype=float32)
    """

    def get_random_transformation(self, data, training=True, seed=None):
        return {"factor": uniform(self.generator(seed), *self.factor, (self.batch_size(data), 1, 1, 1))}

    def transform_images(self, images, transformation=None, training=True):
        if not training:
            return images
        factor = per_image(transformation["factor"]).astype(images.dtype)
        gray = ops.image.rgb_to_grayscale(images, data_format=self.data_format)
        return ops.clip(images + factor * (gray - images), *self.value_range)

    def compute_output_shape(self, input_shape):
        channels = input_shape[-1 if self.data_format == "channels_last" else -3]
        if channels is not None and channels != 3:
            raise ValueError(f"RandomColorDegeneration: expected images with 3 channels, got input shape "
                             f"{tuple(input_shape)}")
        return input_shape


class RandomGrayscale(BaseImagePreprocessingLayer):
    """Turn each image to grayscale (kept on all channels) with probability `factor`.

    >>> RandomGrayscale(1.0)(np.array([[[[3.0, 0.0, 0.0]]]]))[0, 0, 0].numpy().round(4)
    array([0.8967, 0.8967, 0.8967], dtype=float32)
    """

    seeded = False  # Keras's config has no seed

    def __init__(self, factor=0.5, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if not isinstance(factor, (int, float)) or not 0 <= factor <= 1:
            raise ValueError(f"RandomGrayscale: expected factor between 0 and 1, got factor={factor!r}")
        self.factor = factor

    def get_random_transformation(self, images, training=True, seed=None):
        draws = self.generator(seed).uniform(0, 1, self.batch_size(images))
        return (draws < self.factor).reshape(-1, 1, 1, 1)

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        if transformation is None:
            transformation = self.get_random_transformation(images)
        gray = ops.image.rgb_to_grayscale(images, data_format=self.data_format)
        return ops.where(per_image(transformation), gray, images)

    def transform_labels(self, labels, transformations=None, **kwargs):
        return labels

    def transform_segmentation_masks(self, segmentation_masks, transformations=None, **kwargs):
        return segmentation_masks

    def transform_bounding_boxes(self, bounding_boxes, **kwargs):
        return bounding_boxes

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class RandomHue(_ColorLayer):
    """Rotate the hue of each image by up to `factor / 2` of a turn, in a random direction.

    >>> RandomHue((1.0, 1.0), value_range=(0, 1))(np.array([[[[1.0, 0.0, 0.0]]]]))[0, 0, 0].numpy()  # red to cyan
    array([0., 1., 1.], dtype=float32)
    """

    bounds = (0, 1)

    def get_random_transformation(self, data, training=True, seed=None):
        generator, n = self.generator(seed), self.batch_size(data)
        sign = np.where(generator.uniform(0, 1, n) > 0.5, -1.0, 1.0)
        return {"factor": (sign * generator.uniform(*self.factor, n) * 0.5).astype(backend.floatx())}

    def transform_images(self, images, transformation=None, training=True):
        if not training:
            return images
        x = self.to_nhwc(rescale(images, self.value_range, (0, 1)))
        hsv = ops.image.rgb_to_hsv(x)
        hue = hsv[..., 0] + per_image(transformation["factor"], 3).astype(images.dtype)
        hue = ops.where(hue > 1.0, hue - 1.0, hue)
        hue = ops.where(hue < 0.0, hue + 1.0, hue)
        rgb = ops.clip(ops.image.hsv_to_rgb(ops.stack([hue, hsv[..., 1], hsv[..., 2]], axis=-1)), 0, 1)
        return self.from_nhwc(rescale(rgb, (0, 1), self.value_range))


class RandomSaturation(_ColorLayer):
    """Scale the saturation of each image by `f / (1 - f)`, `f` uniform in `factor` (1: fully
    saturated, 0: gray); images are taken as RGB in [0, 1], as Keras does.

    >>> RandomSaturation((0.0, 0.0), value_range=(0, 1))(np.array([[[[1.0, 0.5, 0.0]]]]))[0, 0, 0].numpy()
    array([1., 1., 1.], dtype=float32)
    """

    def get_random_transformation(self, data, training=True, seed=None):
        factor = uniform(self.generator(seed), *self.factor, self.batch_size(data))
        return {"factor": factor / (1 - factor + backend.epsilon())}

    def transform_images(self, images, transformation=None, training=True):
        if not training:
            return images
        hsv = ops.image.rgb_to_hsv(self.to_nhwc(images))
        saturation = ops.clip(hsv[..., 1] * per_image(transformation["factor"], 3).astype(images.dtype),
                              *self.value_range)
        return self.from_nhwc(ops.image.hsv_to_rgb(ops.stack([hsv[..., 0], saturation, hsv[..., 2]], axis=-1)))


class RandomInvert(_ColorLayer):
    """Replace each image `x` by `max - x` (`max` of `value_range`) with a probability drawn
    uniformly from `factor`.

    >>> RandomInvert((1.0, 1.0))(np.array([[[[0.0, 55.0, 255.0]]]]))[0, 0, 0].numpy()
    array([255., 200.,   0.], dtype=float32)
    """

    bounds = (0, 1)

    def __init__(self, factor=1.0, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(factor, value_range, data_format=data_format, seed=seed, **kwargs)
        self.value_range = list(value_range)  # Keras keeps this one unsorted

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        generator, n = self.generator(seed), self.batch_size(data)
        probability = generator.uniform(*self.factor, n)
        return {"apply_inversion": generator.uniform(0, 1, n) < probability}

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        return ops.where(per_image(transformation["apply_inversion"]), self.value_range[1] - images, images)


class RandomPosterization(_ColorLayer):
    """Keep the `bits` most significant bits of each 8-bit channel value, `bits` a random integer in
    `[1, factor)` (Keras's `randint`; one value when the range is a single number).

    >>> RandomPosterization((1, 1))(np.array([[[[100.0, 200.0, 130.0]]]]))[0, 0, 0].numpy()  # one bit
    array([  0., 128., 128.], dtype=float32)
    """

    bounds = (1, 8)

    def get_random_transformation(self, data, training=True, seed=None):
        n = self.batch_size(data)
        low, high = int(self.factor[0]), int(self.factor[1])
        bits = self.generator(seed).integers(low, high, n) if low != high else np.full(n, low)
        return {"shift_factor": (8 - bits).astype(np.uint8)}

    def transform_images(self, images, transformation=None, training=True):
        if not training:
            return images
        shift = per_image(transformation["shift_factor"]).astype(np.uint8)
        x = as_array(rescale(images, self.value_range, (0, 255))).astype(np.uint8)
        x = ((x >> shift) << shift).astype(images.dtype)
        return ops.convert_to_tensor(rescale(x, (0, 255), self.value_range))


class Solarization(BaseImagePreprocessingLayer):
    """Add a random `addition` to each image (in 0-255 units), then invert the values at or
    above a random `threshold`; both factors are fractions of 255 in [0, 1].

    >>> Solarization(threshold_factor=(0.5, 0.5))(np.array([[[[10.0, 200.0, 128.0]]]]))[0, 0, 0].numpy()
    array([ 10.,  55., 127.], dtype=float32)
    """

    def __init__(self, addition_factor=0.0, threshold_factor=0.0, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.addition_factor = self._factor(addition_factor, "addition_factor")
        self.threshold_factor = self._factor(threshold_factor, "threshold_factor")
        self.value_range = value_range_of(value_range, "Solarization")

    @staticmethod
    def _factor(factor, name):
        pair = isinstance(factor, (tuple, list)) and len(factor) == 2
        values = factor if pair else [factor]
        if not (pair or isinstance(factor, (int, float))) or any(not 0 <= v <= 1 for v in values):
            raise ValueError(f"Solarization: expected {name} to be a number or a list of two numbers in [0, 1], "
                             f"got {name}={factor!r}")
        return tuple(sorted(factor)) if pair else (0, factor)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        generator, shape = self.generator(seed), (self.batch_size(data), 1, 1, 1)
        additions = uniform(generator, self.addition_factor[0], self.addition_factor[1] * 255, shape)
        thresholds = uniform(generator, self.threshold_factor[0], self.threshold_factor[1] * 255, shape)
        return {"additions": additions, "thresholds": thresholds}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        x = ops.clip(rescale(images, self.value_range, (0, 255)) + as_array(transformation["additions"]), 0, 255)
        x = ops.where(x < as_array(transformation["thresholds"]), x, 255 - x)
        return rescale(x, (0, 255), self.value_range)

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range, "addition_factor": self.addition_factor,
                "threshold_factor": self.threshold_factor}


def smooth3x3(x):
    """NHWC `x` filtered with PIL's 3x3 smoothing kernel (centre 5/13, others 1/13), zero padded."""
    padded = ops.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    h, w = x.shape[1], x.shape[2]
    total = None
    for dy in range(3):
        for dx in range(3):
            window = padded[:, dy:dy + h, dx:dx + w, :] * ((5.0 if dy == dx == 1 else 1.0) / 13.0)
            total = window if total is None else total + window
    return total


class RandomSharpness(_ColorLayer):
    """Blend each image with its smoothed version: `x + (1 - 2 f) * (smooth(x) - x)`, `f` uniform
    in `factor` (0.5 keeps the image, above sharpens, below blurs).

    >>> RandomSharpness((0.5, 0.5))(np.arange(9.0).reshape(1, 3, 3, 1))[0, :, :, 0].numpy()  # 0.5: unchanged
    array([[0., 1., 2.],
           [3., 4., 5.],
           [6., 7., 8.]], dtype=float32)
    """

    bounds = (0, 1)

    def get_random_transformation(self, data, training=True, seed=None):
        return {"factor": uniform(self.generator(seed), *self.factor, self.batch_size(data))}

    def transform_images(self, images, transformation=None, training=True):
        if not training:
            return images
        x = self.to_nhwc(images)
        weight = 1.0 - per_image(transformation["factor"]).astype(images.dtype) * 2
        return self.from_nhwc(ops.clip(x + weight * (smooth3x3(x) - x), *self.value_range))


class RandomGaussianBlur(_ColorLayer):
    """Blur each image, with a probability drawn from `factor`, by a Gaussian of `kernel_size`
    (odd) and a standard deviation drawn from `sigma` (one draw per call for rows and columns).

    >>> RandomGaussianBlur(seed=0)(np.ones((2, 5, 5, 3))).shape
    (2, 5, 5, 3)
    """

    bounds = (0, 1)

    def __init__(self, factor=1.0, kernel_size=3, sigma=1.0, value_range=(0, 255), data_format=None, seed=None,
                 **kwargs):
        super().__init__(factor, value_range, data_format=data_format, seed=seed, **kwargs)
        self.value_range = value_range
        sizes = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
        if len(sizes) != 2 or any(not isinstance(k, (int, float)) or k % 2 == 0 for k in sizes):
            raise ValueError(f"RandomGaussianBlur: expected kernel_size to be an odd number or two, got "
                             f"kernel_size={kernel_size!r}")
        self.kernel_size = tuple(sizes)
        self.sigma = factor_of(sigma, self.bounds, "RandomGaussianBlur", "sigma")

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        generator, n = self.generator(seed), self.batch_size(data)
        probability = generator.uniform(*self.factor, n)
        apply = generator.uniform(0, 1, n) < probability
        return {"should_apply_blur": apply, "blur_factor": uniform(generator, *self.sigma, 2) + 1e-6}

    def transform_images(self, images, transformation=None, training=True):
        if not training or transformation is None:
            return images
        sigma = [float(s) for s in as_array(transformation["blur_factor"])]
        blurred = ops.image.gaussian_blur(images, kernel_size=self.kernel_size, sigma=sigma,
                                          data_format=self.data_format)
        out = ops.where(per_image(transformation["should_apply_blur"]), blurred, images)
        return ops.clip(out, *self.value_range)

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size, "sigma": self.sigma}


class ContrastTransform(BaseImagePreprocessingLayer):
    """Keras's `RandomContrast` transformation (`contrast_factor` per image), for the layers that
    chain transformations (colour jitter, AugMix, RandAugment).

    >>> ContrastTransform((0.0, 0.0))(np.array([[[[10.0], [30.0]]]]))[0, 0, :, 0].numpy()  # a factor of 1
    array([10., 30.], dtype=float32)
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, name=None, **kwargs):
        name = name or unique_name("random_contrast")  # named as Keras's RandomContrast in its place
        super().__init__(seed=seed, data_format=data_format, name=name, **kwargs)
        self.factor = factor_of(factor, (0, 1), "RandomContrast")
        self.value_range = value_range

    def get_random_transformation(self, data, training=True, seed=None):
        shape = (self.batch_size(data), 1, 1, 1)
        if not training:
            return {"contrast_factor": np.zeros(shape, backend.floatx())}
        return {"contrast_factor": uniform(self.generator(seed), 1 - self.factor[0], 1 + self.factor[1], shape)}

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        axes = (-2, -1) if self.data_format == "channels_first" else (-3, -2)
        mean = ops.mean(images, axis=axes, keepdims=True)
        factor = per_image(transformation["contrast_factor"]).astype(images.dtype)
        return ops.clip((images - mean) * factor + mean, *self.value_range)


class RandomColorJitter(BaseImagePreprocessingLayer):
    """Random brightness, contrast, saturation and hue, in that order, each applied when its
    factor is given (with the meaning of the single layers).

    >>> RandomColorJitter(brightness_factor=0.1, hue_factor=0.1, seed=0)(np.ones((2, 4, 4, 3))).shape
    (2, 4, 4, 3)
    """

    def __init__(self, value_range=(0, 255), brightness_factor=None, contrast_factor=None, saturation_factor=None,
                 hue_factor=None, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = value_range
        self.brightness_factor, self.contrast_factor = brightness_factor, contrast_factor
        self.saturation_factor, self.hue_factor = saturation_factor, hue_factor
        common = {"value_range": value_range, "seed": seed, "data_format": self.data_format}
        self.steps = [(name, cls(factor=factor, **common)) for name, cls, factor in (
            ("brightness", RandomBrightness, brightness_factor), ("contrast", ContrastTransform, contrast_factor),
            ("saturation", RandomSaturation, saturation_factor), ("hue", RandomHue, hue_factor))
            if factor is not None]

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        generator = self.generator(seed)
        return {name: layer.get_random_transformation(data, seed=generator) for name, layer in self.steps}

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        for name, layer in self.steps:
            step = transformation[name] if transformation is not None else layer.get_random_transformation(
                images, seed=self.generator())
            images = layer.transform_images(images, step)
        return images

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range, "brightness_factor": self.brightness_factor,
                "contrast_factor": self.contrast_factor, "saturation_factor": self.saturation_factor,
                "hue_factor": self.hue_factor}
