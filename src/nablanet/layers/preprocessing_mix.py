"""Keras 3's mixing augmentations: `MixUp` and `CutMix` (images and their labels blended with
another image of the batch), and the policies `AugMix` and `RandAugment` that chain the single
augmentation layers.

Transformations have Keras's keys (`mix_weight`, `permutation_order`, `batch_masks`, ...), so a
transformation drawn by Keras's layer can be applied here, AugMix's and RandAugment's chains
included; those draw from the layer's generator.
"""


import numpy as np

from nablanet import backend, ops
from nablanet.autodiff import as_array
from nablanet.layers.preprocessing_color import (
    ContrastTransform,
    RandomBrightness,
    RandomColorDegeneration,
    RandomPosterization,
    RandomSharpness,
    Solarization,
)
from nablanet.layers.preprocessing_geometry import RandomShear, box_masks, crop_bounds
from nablanet.layers.preprocessing_histogram import AutoContrast, Equalization
from nablanet.layers.preprocessing_image import BaseImagePreprocessingLayer, factor_of, per_image
from nablanet.layers.preprocessing_image_boxes import clip_to_image, convert
from nablanet.names import unique_name


def _take(x, order):
    return ops.take(x, np.asarray(as_array(order)).astype(np.int64), axis=0)


class MixUp(BaseImagePreprocessingLayer):
    """Blend each image (and label) with another of the batch: `w x + (1 - w) x[perm]`, `w`
    drawn from Beta(alpha, alpha) per image (Zhang et al., 2018, "mixup").

    >>> layer = MixUp(seed=0)
    >>> out = layer({"images": np.ones((2, 2, 2, 1)), "labels": np.eye(2)})
    >>> bool(np.allclose(out["labels"].numpy().sum(axis=1), 1.0))
    True
    """

    def __init__(self, alpha=0.2, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.alpha = alpha

    def get_random_transformation(self, data, training=True, seed=None):
        generator, n = self.generator(seed), self.batch_size(data)
        return {"mix_weight": generator.beta(self.alpha, self.alpha, n).astype(backend.floatx()),
                "permutation_order": generator.permutation(n).astype(np.int64)}

    def _mix(self, x, transformation):
        weight = per_image(transformation["mix_weight"], len(x.shape)).astype(np.float32)
        return weight * x + (1.0 - weight) * _take(x, transformation["permutation_order"])

    def transform_images(self, images, transformation=None, training=True):
        return self._mix(images, transformation) if training else images

    def transform_labels(self, labels, transformation, training=True):
        return self._mix(labels, transformation) if training else labels

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        return self._mix(segmentation_masks, transformation) if training else segmentation_masks

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        """Each image keeps its boxes and gains those of its partner (labels likewise, on the same axis)."""
        if not training:
            return bounding_boxes
        order = transformation["permutation_order"]
        return {**bounding_boxes, **{key: ops.concatenate([bounding_boxes[key], _take(bounding_boxes[key], order)],
                                                          axis=1) for key in ("boxes", "labels")}}

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class CutMix(BaseImagePreprocessingLayer):
    """Paste a random box of another image of the batch into each image, and mix the labels by
    the areas (Yun et al., 2019, "CutMix"); Beta's parameter is drawn from `factor`. A single
    image passes through.

    >>> images = np.stack([np.zeros((4, 4, 1)), np.ones((4, 4, 1))])
    >>> CutMix(seed=0)({"images": images, "labels": np.eye(2)})["labels"].numpy().sum(axis=1)
    array([1., 1.], dtype=float32)
    """

    def __init__(self, factor=1.0, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_of(factor, (0, 1), "CutMix")

    def get_random_transformation(self, data, training=True, seed=None):
        images = self.images_of(data)
        if not training or len(images.shape) == 3:
            return None
        generator, n = self.generator(seed), images.shape[0]
        height, width = self.image_size(images)
        alpha = np.float32(generator.uniform(*self.factor)) + np.float32(1e-6)
        ratio = np.sqrt(1.0 - generator.beta(alpha, alpha, n).astype(np.float32))
        x0, x1 = crop_bounds(generator, n, width, ratio)
        y0, y1 = crop_bounds(generator, n, height, ratio)
        masks = box_masks(tuple(images.shape), self.data_format, x0, x1, y0, y1)
        weight = (1.0 - (x1 - x0) * (y1 - y0) / (width * height)).reshape(-1, 1, 1, 1)
        return {"permutation_order": generator.permutation(n).astype(np.int32), "batch_masks": masks,
                "mix_weight": weight.astype(np.float32)}

    def transform_images(self, images, transformation=None, training=True):
        if not training or transformation is None:
            return images
        return ops.where(as_array(transformation["batch_masks"]), _take(images, transformation["permutation_order"]),
                         images)

    def transform_labels(self, labels, transformation, training=True):
        if not training or transformation is None:
            return labels
        weight = np.asarray(as_array(transformation["mix_weight"])).reshape(-1, 1)
        return weight * labels + (1.0 - weight) * _take(labels, transformation["permutation_order"])

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        return self.transform_images(segmentation_masks, transformation, training)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        raise NotImplementedError("CutMix: bounding boxes are not transformed in nablanet yet")

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class AffineTransform(BaseImagePreprocessingLayer):
    """The translations (by `factor` of the size) and rotations (by `factor` turns) that AugMix and
    RandAugment chain, with Keras's `RandomTranslation` and `RandomRotation` transformations
    (`translations` in pixels; `rotation_matrix` about the centre) and reflection at the borders.
    Boxes become the extent of their moved corners.

    >>> shift = AffineTransform("translation", (0.5, 0.5))
    >>> shift.transform_images(np.arange(4.0).reshape(1, 1, 4, 1), {"translations": np.array([[1.0, 0.0]])})[0, 0, :, 0]
    array([0., 0., 1., 2.])
    """

    def __init__(self, kind, factor, interpolation="bilinear", seed=None, data_format=None, name=None, **kwargs):
        name = name or unique_name(f"random_{kind}")  # Keras's layer of that name, and its name
        super().__init__(seed=seed, data_format=data_format, name=name, **kwargs)
        self.kind, self.factor, self.interpolation = kind, factor, interpolation

    def get_random_transformation(self, data, training=True, seed=None):
        images = self.images_of(data)
        generator, n = self.generator(seed), self.batch_size(data)
        height, width = self.image_size(images)
        if self.kind == "translation":
            dy = generator.uniform(*self.factor, (n, 1)) * height
            dx = generator.uniform(*self.factor, (n, 1)) * width
            return {"translations": np.concatenate([dx, dy], axis=1).astype(np.float32),
                    "input_shape": tuple(images.shape)}
        angle = np.radians(generator.uniform(self.factor[0] * 360.0, self.factor[1] * 360.0, n))
        cos, sin = np.cos(angle), np.sin(angle)
        cx, cy = 0.5 * (width - 1), 0.5 * (height - 1)
        matrix = np.stack([cos, -sin, cx - cx * cos + cy * sin, sin, cos, cy - cx * sin - cy * cos,
                           np.zeros(n), np.zeros(n)], axis=1)
        return {"angle": np.degrees(angle).astype(np.float32), "rotation_matrix": matrix.astype(np.float32),
                "image_height": height, "image_width": width, "batch_size": n}

    def _matrix(self, transformation):
        """(batch, 8) maps from output to input pixel coordinates, as `ops.image.affine_transform` takes them."""
        if self.kind == "rotation":
            return np.asarray(as_array(transformation["rotation_matrix"]), np.float32).reshape(-1, 8)
        shift = np.asarray(as_array(transformation["translations"]), np.float32)
        ones, zeros = np.ones(len(shift), np.float32), np.zeros(len(shift), np.float32)
        return np.stack([ones, zeros, -shift[:, 0], zeros, ones, -shift[:, 1], zeros, zeros], axis=1)

    def _warp(self, images, transformation, interpolation):
        return ops.image.affine_transform(images, self._matrix(transformation), interpolation=interpolation,
                                          fill_mode="reflect", data_format=self.data_format)

    def transform_images(self, images, transformation, training=True):
        return self._warp(images, transformation, self.interpolation) if training else images

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        return self._warp(segmentation_masks, transformation, "nearest") if training else segmentation_masks

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training:
            return bounding_boxes
        if self.kind == "rotation":
            height, width = transformation["image_height"], transformation["image_width"]
        else:
            shape = transformation["input_shape"]
            height, width = (shape[-2], shape[-1]) if self.data_format == "channels_first" else shape[-3:-1]
        boxes = convert(bounding_boxes["boxes"], self.bounding_box_format, "xyxy", height, width)
        square = np.concatenate([self._matrix(transformation)[:, :6], np.tile([0.0, 0.0, 1.0], (len(boxes), 1))], 1)
        forward = np.linalg.inv(square.reshape(-1, 3, 3))[:, None]  # input to output
        corners = [np.stack([boxes[..., x], boxes[..., y], np.ones(boxes.shape[:-1])], axis=-1)[..., None]
                   for x, y in ((0, 1), (2, 3), (0, 3), (2, 1))]
        moved = np.stack([(forward @ corner)[..., :2, 0] for corner in corners], axis=-2)  # (..., 4 corners, xy)
        extent = np.concatenate([moved.min(axis=-2), moved.max(axis=-2)], axis=-1).astype(np.float32)
        clipped = clip_to_image({**bounding_boxes, "boxes": extent}, height, width)
        return {**clipped, "boxes": convert(clipped["boxes"], "xyxy", self.bounding_box_format, height, width)}


def _augmenters(layer, names):
    """The single augmentation layers of AugMix/RandAugment, named as in Keras, built from `layer`'s factor."""
    common = {"seed": layer.seed, "data_format": layer.data_format, "bounding_box_format": layer.bounding_box_format}
    coloured = {**common, "value_range": layer.value_range}
    makers = {
        "random_shear": lambda: RandomShear(x_factor=layer.factor, y_factor=layer.factor,
                                            interpolation=layer.interpolation, **common),
        "random_translation": lambda: AffineTransform("translation", layer.factor, layer.interpolation, **common),
        "random_rotation": lambda: AffineTransform("rotation", layer.factor, layer.interpolation, **common),
        "random_brightness": lambda: RandomBrightness(factor=layer.factor, **coloured),
        "random_color_degeneration": lambda: RandomColorDegeneration(factor=layer.factor, **coloured),
        "random_contrast": lambda: ContrastTransform(factor=layer.factor, **coloured),
        "random_sharpness": lambda: RandomSharpness(factor=layer.factor, **coloured),
        "random_posterization": lambda: RandomPosterization(factor=max(1, int(8 * layer.factor[1])), **coloured),
        "solarization": lambda: Solarization(addition_factor=layer.factor, threshold_factor=layer.factor,
                                             **coloured),
        "auto_contrast": lambda: AutoContrast(value_range=layer.value_range, **common),
        "equalization": lambda: Equalization(value_range=layer.value_range, **common),
    }
    return {name: makers[name]() for name in names}


AUGMIX_OPS = ("random_shear", "random_translation", "random_rotation", "random_posterization", "solarization",
              "auto_contrast", "equalization")
AUGMIX_ALL_OPS = AUGMIX_OPS + ("random_brightness", "random_color_degeneration", "random_contrast",
                               "random_sharpness")
RANDAUGMENT_OPS = ("random_shear", "random_translation", "random_rotation", "random_brightness",
                   "random_color_degeneration", "random_contrast", "random_sharpness", "random_posterization",
                   "solarization", "auto_contrast", "equalization")


class AugMix(BaseImagePreprocessingLayer):
    """Mix `num_chains` chains of up to `chain_depth` random operations with Dirichlet weights,
    then blend with the original by a Beta(alpha, alpha) weight (Hendrycks et al., 2020, "AugMix").

    >>> AugMix(seed=0)(np.full((2, 4, 4, 3), 128.0)).shape
    (2, 4, 4, 3)
    """

    def __init__(self, value_range=(0, 255), num_chains=3, chain_depth=3, factor=0.3, alpha=1.0, all_ops=True,
                 interpolation="bilinear", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range, self.num_chains, self.chain_depth = value_range, num_chains, chain_depth
        self.factor = factor_of(factor, (0, 1), "AugMix")
        self.alpha, self.all_ops, self.interpolation = alpha, all_ops, interpolation
        self.augmenters = _augmenters(self, AUGMIX_ALL_OPS if all_ops else AUGMIX_OPS)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        generator, names = self.generator(seed), list(self.augmenters) + [None]
        gamma = generator.gamma(self.alpha, size=self.num_chains)
        chains = []
        for _ in range(self.num_chains):
            picks = [names[i] for i in generator.integers(0, len(names), self.chain_depth)]
            chains.append([{"layer_name": name, "transformation":
                            self.augmenters[name].get_random_transformation(data, seed=generator)}
                           for name in picks if name is not None])
        return {"chain_mixing_weights": (gamma / gamma.sum()).astype(np.float32),
                "weight_sample": np.float32(generator.beta(self.alpha, self.alpha)), "chain_transforms": chains}

    def _mix_chains(self, method, x, transformation):
        weights = as_array(transformation["chain_mixing_weights"])
        mixed = None
        for weight, chain in zip(weights, transformation["chain_transforms"]):
            y = x
            for step in chain:
                y = getattr(self.augmenters[step["layer_name"]], method)(y, step["transformation"])
            mixed = y * float(weight) if mixed is None else mixed + y * float(weight)
        sample = float(as_array(transformation["weight_sample"]))
        return sample * x + (1 - sample) * (mixed if mixed is not None else 0.0)

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        return ops.clip(self._mix_chains("transform_images", images, transformation), *self.value_range)

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        if not training:
            return segmentation_masks
        return self._mix_chains("transform_segmentation_masks", segmentation_masks, transformation)

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range, "num_chains": self.num_chains,
                "chain_depth": self.chain_depth, "factor": self.factor, "alpha": self.alpha, "all_ops": self.all_ops,
                "interpolation": self.interpolation}


class RandAugment(BaseImagePreprocessingLayer):
    """Apply `num_ops` operations picked uniformly (with repeats) from eleven, each of strength
    `factor` (Cubuk et al., 2020, "RandAugment").

    >>> RandAugment(seed=0)(np.full((2, 4, 4, 3), 128.0)).shape
    (2, 4, 4, 3)
    """

    def __init__(self, value_range=(0, 255), num_ops=2, factor=0.5, interpolation="bilinear", seed=None,
                 data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range, self.num_ops = value_range, num_ops
        self.factor = factor_of(factor, (0, 1), "RandAugment")
        self.interpolation = interpolation
        self.augmenters = _augmenters(self, RANDAUGMENT_OPS)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        generator = self.generator(seed)
        indices = generator.integers(0, len(RANDAUGMENT_OPS), self.num_ops)
        transforms = {name: self.augmenters[name].get_random_transformation(data, seed=generator)
                      for name in RANDAUGMENT_OPS}
        return {"transforms": transforms, "layer_idxes": indices}

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        for index in as_array(transformation["layer_idxes"]):
            name = RANDAUGMENT_OPS[int(index)]
            images = self.augmenters[name].transform_images(images, transformation["transforms"][name])
        return images

    def _chosen(self, method, value, transformation, training):
        if not training:
            return value
        for index in as_array(transformation["layer_idxes"]):
            name = RANDAUGMENT_OPS[int(index)]
            value = getattr(self.augmenters[name], method)(value, transformation["transforms"][name])
        return value

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        return self._chosen("transform_segmentation_masks", segmentation_masks, transformation, training)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        return self._chosen("transform_bounding_boxes", bounding_boxes, transformation, training)

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range, "num_ops": self.num_ops,
                "factor": self.factor, "interpolation": self.interpolation}
