"""Keras 3's geometric augmentation layers: `RandomShear`, `RandomPerspective`,
`RandomElasticTransform`, and `RandomErasing` (which cuts a random box out).

The warps resample through `ops.image` (affine and perspective transforms, elastic fields), so
gradients flow to the images; segmentation masks get the same warp with nearest sampling, and
bounding boxes move as Keras moves them (shear, perspective; the elastic transform raises).
"""

import numpy as np

from nablanet import backend, ops
from nablanet.autodiff import as_array
from nablanet.layers.preprocessing_image import BaseImagePreprocessingLayer, factor_of, per_image
from nablanet.layers.preprocessing_image_boxes import clip_to_image, convert

INTERPOLATIONS = ("nearest", "bilinear")


def _check_choice(value, choices, name, argument):
    if value not in choices:
        raise NotImplementedError(f"{name}: expected {argument} in {tuple(choices)}, got {value!r}")


class _Warp(BaseImagePreprocessingLayer):
    """A layer whose transformation warps images; masks follow with nearest sampling."""

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        return self._warp(images, transformation, self.interpolation)

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        if not training:
            return segmentation_masks
        return self._warp(segmentation_masks, transformation, "nearest")

    def input_size(self, transformation):
        shape = transformation["input_shape"]
        return (shape[-2], shape[-1]) if self.data_format == "channels_first" else (shape[-3], shape[-2])

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training or transformation is None:
            return bounding_boxes
        return self._move_boxes(bounding_boxes, transformation)


class RandomShear(_Warp):
    """Shear each image along x and y by random fractions drawn from `x_factor` and `y_factor`
    (a number f means `[-f, f]`), with a random sign.

    >>> RandomShear(x_factor=0.2, seed=0)(np.ones((1, 4, 4, 1))).shape
    (1, 4, 4, 1)
    """

    def __init__(self, x_factor=0.0, y_factor=0.0, interpolation="bilinear", fill_mode="reflect", fill_value=0.0,
                 data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.x_factor, self.y_factor = self._factor(x_factor, "x_factor"), self._factor(y_factor, "y_factor")
        _check_choice(fill_mode, ("reflect", "wrap", "constant", "nearest"), "RandomShear", "fill_mode")
        _check_choice(interpolation, INTERPOLATIONS, "RandomShear", "interpolation")
        self.fill_mode, self.fill_value, self.interpolation = fill_mode, fill_value, interpolation

    @staticmethod
    def _factor(factor, name):
        pair = isinstance(factor, (tuple, list)) and len(factor) == 2
        values = [abs(v) for v in factor] if pair else [factor]  # a config's (-f, f) loads back, unlike Keras's
        if not (pair or isinstance(factor, (int, float))) or any(not 0 <= v <= 1 for v in values):
            raise ValueError(f"RandomShear: expected {name} to be a number or a list of two numbers in [0, 1], "
                             f"got {name}={factor!r}")
        return tuple(sorted(factor)) if pair else (-abs(factor), abs(factor))

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        generator, n = self.generator(seed), self.batch_size(data)
        sign = np.where(generator.uniform(0, 1, (n, 1)) > 0.5, -1.0, 1.0)
        shear_y = generator.uniform(*self.y_factor, (n, 1))
        shear_x = generator.uniform(*self.x_factor, (n, 1))
        shear = (np.concatenate([shear_x, shear_y], axis=1) * sign).astype(backend.floatx())
        return {"shear_factor": shear, "input_shape": tuple(self.images_of(data).shape)}

    def _warp(self, images, transformation, interpolation):
        if transformation is None:
            return images
        shear = as_array(transformation["shear_factor"])
        ones, zeros = np.ones(len(shear)), np.zeros(len(shear))
        matrix = np.stack([ones, shear[:, 0], zeros, shear[:, 1], ones, zeros, zeros, zeros], axis=1)
        return ops.image.affine_transform(images, matrix.astype(np.float32), interpolation=interpolation,
                                          fill_mode=self.fill_mode, fill_value=self.fill_value,
                                          data_format=self.data_format)

    def _move_boxes(self, bounding_boxes, transformation):
        """Keras's rule: shear the corners in relative coordinates, keeping the sheared box's extent."""
        height, width = self.input_size(transformation)
        boxes = convert(bounding_boxes["boxes"], self.bounding_box_format, "rel_xyxy", height, width)
        shear = np.asarray(as_array(transformation["shear_factor"]), np.float32)
        sx, sy = shear[:, :1], shear[:, 1:]
        x1, y1, x2, y2 = (boxes[..., i] for i in range(4))
        x1, x2 = np.where(sx < 0, x1 - sx * y1, x1 - sx * y2), np.where(sx < 0, x2 - sx * y2, x2 - sx * y1)
        y1, y2 = np.where(sy > 0, y1 - sy * x2, y1 - sy * x1), np.where(sy > 0, y2 - sy * x1, y2 - sy * x2)
        clipped = clip_to_image({**bounding_boxes, "boxes": np.stack([x1, y1, x2, y2], axis=-1)}, relative=True)
        return {**clipped, "boxes": convert(clipped["boxes"], "rel_xyxy", self.bounding_box_format, height, width)}

    def get_config(self):
        return {**super().get_config(), "x_factor": self.x_factor, "y_factor": self.y_factor,
                "fill_mode": self.fill_mode, "interpolation": self.interpolation, "fill_value": self.fill_value}


class RandomPerspective(_Warp):
    """Move each image's corners by up to `scale / 2` of its size (each coordinate independently)
    and warp it to match, with a probability drawn from `factor`; outside is `fill_value`.

    >>> RandomPerspective(scale=0.3, seed=0)(np.ones((2, 5, 5, 3))).shape
    (2, 5, 5, 3)
    """

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_value=0.0, seed=None, data_format=None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_of(factor, (0, 1), "RandomPerspective")
        if not isinstance(scale, (int, float)) or not 0 <= scale <= 1:
            raise ValueError(f"RandomPerspective: expected scale in [0, 1], got scale={scale!r}")
        _check_choice(interpolation, INTERPOLATIONS, "RandomPerspective", "interpolation")
        self.scale, self.fill_value, self.interpolation = scale, fill_value, interpolation

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        generator, n = self.generator(seed), self.batch_size(data)
        height, width = self.image_size(self.images_of(data))
        probability = generator.uniform(*self.factor, n)
        apply = generator.uniform(0, 1, n) < probability
        shift = generator.uniform(-0.5 * self.scale, 0.5 * self.scale, (n, 4, 2)).astype(backend.floatx())
        corners = np.array([[0, 0], [width - 1, 0], [0, height - 1], [width - 1, height - 1]], backend.floatx())
        start = np.repeat(corners[None], n, axis=0)
        return {"apply_perspective": apply, "start_points": start, "end_points": start + start * shift,
                "input_shape": tuple(self.images_of(data).shape)}

    def _warp(self, images, transformation, interpolation):
        if transformation is None:
            return images
        warped = ops.image.perspective_transform(images, as_array(transformation["start_points"]),
                                                 as_array(transformation["end_points"]), interpolation=interpolation,
                                                 fill_value=self.fill_value, data_format=self.data_format)
        return ops.where(per_image(transformation["apply_perspective"]), warped, images)

    def _move_boxes(self, bounding_boxes, transformation):
        """Each box becomes the extent of its four corners mapped by the warp (input to output)."""
        height, width = self.input_size(transformation)
        boxes = convert(bounding_boxes["boxes"], self.bounding_box_format, "xyxy", height, width)
        start, end = (np.asarray(as_array(transformation[key]), np.float64) for key in ("start_points", "end_points"))
        forward = np.linalg.inv(_homography(start, end))[:, None]  # (batch, 1, 3, 3): input to output
        xs, ys = [], []
        for x, y in ((0, 1), (2, 3), (0, 3), (2, 1)):
            points = np.stack([boxes[..., x], boxes[..., y], np.ones(boxes.shape[:-1])], axis=-1)[..., None]
            mapped = (forward @ points)[..., 0]
            xs.append(mapped[..., 0] / mapped[..., 2])
            ys.append(mapped[..., 1] / mapped[..., 2])
        xs, ys = np.stack(xs, axis=-1), np.stack(ys, axis=-1)
        moved = np.stack([xs.min(-1), ys.min(-1), xs.max(-1), ys.max(-1)], axis=-1).astype(np.float32)
        apply = np.asarray(as_array(transformation["apply_perspective"]), bool)[:, None, None]
        clipped = clip_to_image({**bounding_boxes, "boxes": np.where(apply, moved, boxes)}, height, width)
        return {**clipped, "boxes": convert(clipped["boxes"], "xyxy", self.bounding_box_format, height, width)}

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "scale": self.scale,
                "interpolation": self.interpolation, "fill_value": self.fill_value}


def _homography(start, end):
    """(batch, 3, 3) matrices mapping each end (output) point to its start (input) point."""
    rows, targets = [], []
    for k in range(4):
        (sx, sy), (ex, ey) = start[:, k].T, end[:, k].T
        one, zero = np.ones_like(ex), np.zeros_like(ex)
        rows += [np.stack([ex, ey, one, zero, zero, zero, -sx * ex, -sx * ey], -1),
                 np.stack([zero, zero, zero, ex, ey, one, -sy * ex, -sy * ey], -1)]
        targets += [sx, sy]
    coefficients = np.linalg.solve(np.stack(rows, axis=1), np.stack(targets, axis=-1)[..., None])[..., 0]
    return np.concatenate([coefficients, np.ones((len(start), 1))], axis=1).reshape(-1, 3, 3)


class RandomElasticTransform(_Warp):
    """Displace pixels by a smooth random field, with a probability drawn from `factor`; the
    field's strength `alpha = 0.1 s max(h, w)` and smoothness `sigma = 0.05 s min(h, w)` follow
    a distortion `s` drawn from `scale`. Outputs are clipped to `value_range`.

    The field's noise comes from NumPy, so a transformation drawn here differs from Keras's.

    >>> RandomElasticTransform(seed=0)(np.ones((2, 8, 8, 3))).shape
    (2, 8, 8, 3)
    """

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_mode="reflect", fill_value=0.0,
                 value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_of(factor, (0, 1), "RandomElasticTransform")
        self.scale = factor_of(scale, (0, 1), "RandomElasticTransform", "scale")
        _check_choice(interpolation, INTERPOLATIONS, "RandomElasticTransform", "interpolation")
        _check_choice(fill_mode, ("constant", "nearest", "wrap", "mirror", "reflect"), "RandomElasticTransform",
                      "fill_mode")
        self.interpolation, self.fill_mode, self.fill_value = interpolation, fill_mode, fill_value
        self.value_range = value_range

    def get_random_transformation(self, data, training=True, seed=None):
        if not training or self.scale[1] == 0 or self.factor[1] == 0:
            return None
        generator, n = self.generator(seed), self.batch_size(data)
        probability = generator.uniform(*self.factor, n)
        apply = generator.uniform(0, 1, n) < probability
        distortion = np.float32(generator.uniform(*self.scale))
        return {"apply_transform": apply, "distortion_factor": distortion, "seed": int(generator.integers(2 ** 31))}

    def _warp(self, images, transformation, interpolation):
        if transformation is None:
            return images
        height, width = self.image_size(images)
        distortion = float(as_array(transformation["distortion_factor"]))
        alpha, sigma = max(height, width) * 0.1 * distortion, min(height, width) * 0.05 * distortion
        warped = images
        if sigma > 0:
            warped = ops.image.elastic_transform(images, alpha=alpha, sigma=sigma, interpolation=interpolation,
                                                 fill_mode=self.fill_mode, fill_value=self.fill_value,
                                                 seed=transformation["seed"], data_format=self.data_format)
        out = ops.where(per_image(transformation["apply_transform"], len(images.shape)), warped, images)
        return ops.clip(out, *self.value_range)

    def _move_boxes(self, bounding_boxes, transformation):
        raise NotImplementedError("RandomElasticTransform: bounding boxes cannot follow an elastic warp (nor in Keras)")

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "scale": self.scale,
                "interpolation": self.interpolation, "fill_mode": self.fill_mode, "fill_value": self.fill_value,
                "value_range": self.value_range}


def box_masks(shape, data_format, x0, x1, y0, y1):
    """Boolean masks of `shape` (a batch) that are True inside each image's box `[x0, x1) x [y0, y1)`."""
    first = data_format == "channels_first"
    height, width = (shape[-2], shape[-1]) if first else (shape[-3], shape[-2])
    rows, cols = np.meshgrid(np.arange(height, dtype=np.float32), np.arange(width, dtype=np.float32), indexing="ij")
    rows, cols = (rows[None, None], cols[None, None]) if first else (rows[None, ..., None], cols[None, ..., None])
    x0, x1, y0, y1 = (np.asarray(v).reshape(-1, 1, 1, 1) for v in (x0, x1, y0, y1))
    masks = (cols >= x0) & (cols < x1) & (rows >= y0) & (rows < y1)
    return np.broadcast_to(masks, tuple(shape)).copy()


def crop_bounds(generator, n, length, ratio):
    """Start and end of a window of `ratio * length` placed uniformly at random, per image."""
    size = (np.asarray(ratio) * length).astype(np.float32)
    start = generator.uniform(0, 1, n).astype(np.float32) * (length - size)
    return start, start + size


class RandomErasing(BaseImagePreprocessingLayer):
    """Replace a random box (its sides `sqrt(s)` of the image's, `s` drawn from `scale`) of each
    image by `fill_value` (Gaussian noise times the top of `value_range` when None), with a
    probability drawn from `factor`.

    >>> layer = RandomErasing(factor=(1.0, 1.0), scale=(0.25, 0.25), fill_value=0.0, seed=0)
    >>> layer(np.ones((1, 4, 4, 1)))[0, :, :, 0].numpy()
    array([[1., 1., 1., 1.],
           [1., 0., 0., 1.],
           [1., 0., 0., 1.],
           [1., 1., 1., 1.]], dtype=float32)
    """

    def __init__(self, factor=1.0, scale=(0.02, 0.33), fill_value=None, value_range=(0, 255), seed=None,
                 data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_of(factor, (0, 1), "RandomErasing")
        self.scale = factor_of(scale, (0, 1), "RandomErasing", "scale")
        if fill_value is not None and not (isinstance(fill_value, (int, float)) or
                                           (isinstance(fill_value, (tuple, list)) and len(fill_value) == 3)):
            raise ValueError(f"RandomErasing: expected fill_value to be None, a number or three numbers, got "
                             f"{fill_value!r}")
        self.fill_value, self.value_range = fill_value, value_range

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images = self.images_of(data)
        shape = tuple(images.shape) if len(images.shape) == 4 else (1,) + tuple(images.shape)
        generator, n = self.generator(seed), shape[0]
        height, width = self.image_size(images)
        sides = np.sqrt(generator.uniform(*self.scale, (n, 2)).astype(np.float32))
        x0, x1 = crop_bounds(generator, n, width, sides[:, 0])
        y0, y1 = crop_bounds(generator, n, height, sides[:, 1])
        masks = box_masks(shape, self.data_format, x0, x1, y0, y1)
        probability = generator.uniform(*self.factor, n)
        apply = generator.uniform(0, 1, n) < probability
        if self.fill_value is None:
            fill = generator.standard_normal(shape).astype(backend.floatx()) * self.value_range[1]
        else:
            fill = np.broadcast_to(np.asarray(self.fill_value, backend.floatx()), shape)
        return {"apply_erasing": apply, "batch_masks": masks, "fill_value": np.clip(fill, *self.value_range)}

    def transform_images(self, images, transformation=None, training=True):
        if not training:
            return images
        erased = ops.where(as_array(transformation["batch_masks"]), as_array(transformation["fill_value"]), images)
        return ops.where(per_image(transformation["apply_erasing"]), erased, images)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "scale": self.scale, "fill_value": self.fill_value,
                "value_range": self.value_range}
