"""The base of Keras 3's image augmentation layers, and the layers that only crop, pad or chain.

A layer draws its random parameters once per call with `get_random_transformation(data,
training, seed)` and applies them with `transform_images(images, transformation, training)`
(and `transform_labels`, `transform_segmentation_masks`, `transform_bounding_boxes` where the
layer changes them), as Keras's `BaseImagePreprocessingLayer` does. Transformations are dicts
of NumPy arrays with Keras's keys and layouts, so one drawn by Keras can be applied here.
`data` is a batch `(batch, height, width, channels)` (channels first by `data_format`), one
image, or a dict with the key "images" and optionally "labels", "segmentation_masks" and
"bounding_boxes". Random layers are the identity when `training` is False.
"""

import numpy as np

from nablanet import ops, serialization
from nablanet.autodiff import as_array
from nablanet.layers.base import Layer
from nablanet.layers.preprocessing_image_boxes import clip_to_image, convert
from nablanet.layers.seeded import SeededLayer


def value_range_of(value_range, name):
    """Keras's check of `value_range`: two numbers, returned sorted."""
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
        raise ValueError(f"{name}: expected value_range to be a list of two numbers, got {value_range!r}")
    return sorted(value_range)


def factor_of(factor, bounds, name, argument="factor"):
    """Keras's `_set_factor`: a number f gives `(max(-|f|, low), |f|)`, a pair is sorted; both within `bounds`."""
    message = (f"{name}: expected {argument} to be a number or a list of two numbers in [{bounds[0]}, {bounds[1]}], "
               f"got {argument}={factor!r}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or factor[0] > bounds[1] or factor[1] < bounds[0]:
            raise ValueError(message)
        return tuple(sorted(factor))
    if isinstance(factor, (int, float)) and not isinstance(factor, bool):
        if factor < bounds[0] or factor > bounds[1]:
            raise ValueError(message)
        return (max(-abs(factor), bounds[0]), abs(factor))
    raise ValueError(message)


def rescale(images, source, target):
    """Map values from the range `source` to the range `target` (a no-op when they are equal)."""
    if source[0] == target[0] and source[1] == target[1]:
        return images
    return (images - source[0]) / (source[1] - source[0]) * (target[1] - target[0]) + target[0]


def per_image(values, rank=4):
    """Per-image values shaped to broadcast over `(batch, ...)` arrays of `rank` axes."""
    values = np.asarray(as_array(values))
    return values.reshape((-1,) + (1,) * (rank - 1))


class BaseImagePreprocessingLayer(SeededLayer):
    """The Keras contract of image augmentation layers (see the module's docstring).

    Subclasses implement `get_random_transformation` (when they draw) and `transform_images`,
    and set `seeded = False` when Keras's layer takes no `seed` (it is then left out of the config).

    >>> layer = CenterCrop(2, 2)
    >>> images = np.zeros((1, 4, 4, 3))
    >>> layer.transform_images(images, layer.get_random_transformation(images)).shape
    (1, 2, 2, 3)
    """

    keeps_shape = True
    fixed_last_axis = False
    seeded = True

    def __init__(self, seed=None, data_format=None, bounding_box_format=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        data_format = data_format or "channels_last"
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"{type(self).__name__}: expected data_format 'channels_last' or 'channels_first', "
                             f"got {data_format!r}")
        self.data_format = data_format
        self.bounding_box_format = bounding_box_format

    # -- random draws ---------------------------------------------------------------------------------

    def generator(self, seed=None):
        """The generator of one draw: from `seed` when given, else the layer's own (or the shared one)."""
        if seed is None:
            return self._rng()
        return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        """Draw this call's parameters for `data` (None for layers that draw nothing)."""
        return None

    # -- applying a transformation ------------------------------------------------------------------

    def transform_images(self, images, transformation, training=True):
        raise NotImplementedError(f"{type(self).__name__}: transform_images is not implemented")

    def transform_labels(self, labels, transformation, training=True):
        return labels

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        return segmentation_masks

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        return bounding_boxes

    def images_of(self, data):
        """The images in `data` (a dict's "images"), checked to be one image or a batch."""
        images = data["images"] if isinstance(data, dict) else data
        if len(images.shape) not in (3, 4):
            layout = "channels, height, width" if self.data_format == "channels_first" else "height, width, channels"
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected images of shape (batch, {layout}) or "
                             f"({layout}), got shape {tuple(images.shape)}")
        return images

    def image_size(self, images):
        """(height, width) of `images` in the layer's data format."""
        axes = (-2, -1) if self.data_format == "channels_first" else (-3, -2)
        return images.shape[axes[0]], images.shape[axes[1]]

    def batch_size(self, data):
        images = self.images_of(data)
        return 1 if len(images.shape) == 3 else images.shape[0]

    def to_nhwc(self, images):
        return ops.transpose(images, (0, 2, 3, 1)) if self.data_format == "channels_first" else images

    def from_nhwc(self, images):
        return ops.transpose(images, (0, 3, 1, 2)) if self.data_format == "channels_first" else images

    def call(self, data, training=True):
        images = self.images_of(data)
        single = len(images.shape) == 3
        batched = dict(data) if isinstance(data, dict) else {"images": data}
        if single:  # drawn and applied as a batch of one, as Keras's per-image path
            batched = {key: (ops.expand_dims(value, 0) if key != "bounding_boxes"
                             else {k: ops.expand_dims(v, 0) for k, v in value.items()})
                       for key, value in batched.items()}
        transformation = self.get_random_transformation(batched if isinstance(data, dict) else batched["images"],
                                                        training=training)
        out = {"images": self.transform_images(batched["images"], transformation=transformation, training=training)}
        if "labels" in batched:
            out["labels"] = self.transform_labels(batched["labels"], transformation=transformation, training=training)
        if "segmentation_masks" in batched:
            out["segmentation_masks"] = self.transform_segmentation_masks(
                batched["segmentation_masks"], transformation=transformation, training=training)
        if "bounding_boxes" in batched:
            if not self.bounding_box_format:
                raise ValueError(f"{type(self).__name__} {self.name!r}: got 'bounding_boxes' but no "
                                 f"bounding_box_format; pass one, e.g. bounding_box_format='xyxy'")
            out["bounding_boxes"] = self.transform_bounding_boxes(
                dict(batched["bounding_boxes"]), transformation=transformation, training=training)
        if "bounding_boxes" in out:
            out["bounding_boxes"] = {k: ops.convert_to_tensor(v) for k, v in out["bounding_boxes"].items()}
        if single:
            out = {key: (value[0] if key != "bounding_boxes" else {k: v[0] for k, v in value.items()})
                   for key, value in out.items()}
        return {**data, **out} if isinstance(data, dict) else out["images"]

    def get_config(self):
        config = {**Layer.get_config(self), "data_format": self.data_format}
        if self.bounding_box_format is not None:
            config["bounding_box_format"] = self.bounding_box_format
        if self.seeded:
            config["seed"] = self.seed
        return config


class CenterCrop(BaseImagePreprocessingLayer):
    """The central `height` x `width` window of each image; images smaller than that are first
    cropped to the target's aspect ratio and resized to it (bilinear), as Keras's `smart_resize`.

    >>> CenterCrop(2, 2)(np.arange(16.0).reshape(4, 4, 1))[..., 0].numpy()
    array([[ 5.,  6.],
           [ 9., 10.]], dtype=float32)
    """

    seeded = False

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height, self.width = height, width

    def get_random_transformation(self, data, training=True, seed=None):
        return {"input_shape": tuple(self.images_of(data).shape)}

    def transform_images(self, images, transformation=None, training=True):
        h, w = self.image_size(images)
        if h >= self.height and w >= self.width:
            top, left = (h - self.height) // 2, (w - self.width) // 2
            rows, cols = slice(top, top + self.height), slice(left, left + self.width)
            first = self.data_format == "channels_first"
            return images[(Ellipsis, rows, cols) if first else (Ellipsis, rows, cols, slice(None))]
        return ops.image.resize(images, (self.height, self.width), interpolation="bilinear",
                                crop_to_aspect_ratio=True, data_format=self.data_format)

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        return self.transform_images(segmentation_masks, transformation, training)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        shape = transformation["input_shape"]
        h, w = (shape[-2], shape[-1]) if self.data_format == "channels_first" else (shape[-3], shape[-2])
        boxes = convert(bounding_boxes["boxes"], self.bounding_box_format, "xyxy", h, w)
        if h >= self.height and w >= self.width:
            rows, cols = self.height, self.width
        else:  # the window `smart_resize` crops before resizing
            rows = max(min(h, int(w * self.height / self.width)), 1)
            cols = max(min(w, int(h * self.width / self.height)), 1)
        top, left = int((h - rows) / 2), int((w - cols) / 2)
        low = np.array([left, top, left, top], np.float32)
        boxes = np.clip(boxes, low, low + np.array([cols, rows, cols, rows], np.float32)) - low
        if (rows, cols) != (self.height, self.width):
            boxes = convert(convert(boxes, "xyxy", "rel_xyxy", rows, cols), "rel_xyxy", "xyxy", self.height, self.width)
        clipped = clip_to_image({**bounding_boxes, "boxes": boxes}, self.height, self.width)
        boxes = convert(clipped["boxes"], "xyxy", self.bounding_box_format, self.height, self.width)
        return {**clipped, "boxes": boxes}

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        if len(shape) not in (3, 4):
            raise ValueError(f"CenterCrop: expected an input shape of rank 3 or 4, got {tuple(input_shape)}")
        first = len(shape) - (2 if self.data_format == "channels_first" else 3)
        shape[first], shape[first + 1] = self.height, self.width
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


class MaxNumBoundingBoxes(BaseImagePreprocessingLayer):
    """Pad (with `fill_value`) or truncate the boxes and their labels to `max_number` per image;
    images pass through.

    >>> boxes = {"boxes": np.ones((1, 1, 4)), "labels": np.ones((1, 1))}
    >>> data = {"images": np.zeros((1, 4, 4, 3)), "bounding_boxes": boxes}
    >>> MaxNumBoundingBoxes(2, bounding_box_format="xyxy")(data)["bounding_boxes"]["labels"].numpy()
    array([[ 1., -1.]], dtype=float32)
    """

    seeded = False

    def __init__(self, max_number, fill_value=-1, **kwargs):
        super().__init__(**kwargs)
        self.max_number, self.fill_value = int(max_number), int(fill_value)

    def transform_images(self, images, transformation=None, training=True):
        return images

    def transform_labels(self, labels, transformation=None, training=True):
        return labels

    def transform_segmentation_masks(self, segmentation_masks, transformation=None, training=True):
        return segmentation_masks

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        boxes, labels = bounding_boxes["boxes"], bounding_boxes["labels"]
        pad = max(self.max_number - boxes.shape[1], 0)
        boxes = ops.pad(boxes[:, :self.max_number], ((0, 0), (0, pad), (0, 0)), constant_values=self.fill_value)
        labels = ops.pad(labels[:, :self.max_number], ((0, 0), (0, pad)), constant_values=self.fill_value)
        return {**bounding_boxes, "boxes": boxes, "labels": labels}

    def call(self, data, training=True):
        if isinstance(data, dict) and "bounding_boxes" in data and not self.bounding_box_format:
            self.bounding_box_format = "xyxy"  # only the count changes: any format will do
        return super().call(data, training=training)

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, dict) and "bounding_boxes" in input_shape:
            boxes = dict(input_shape["bounding_boxes"])
            boxes["boxes"] = (boxes["boxes"][0], self.max_number) + tuple(boxes["boxes"][2:])
            boxes["labels"] = (boxes["labels"][0], self.max_number)
            return {**input_shape, "bounding_boxes": boxes}
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_number": self.max_number}


class Pipeline(Layer):
    """Apply `layers` in turn (each gets `training`, as Keras's `Pipeline`).

    >>> Pipeline([CenterCrop(2, 2)])(np.zeros((1, 4, 4, 3))).shape
    (1, 2, 2, 3)
    """

    fixed_last_axis = False

    def __init__(self, layers, name=None):
        super().__init__(name=name)
        self._pipeline_layers = list(layers)

    @property
    def layers(self):
        return self._pipeline_layers

    def build(self, input_shape):
        return None

    def call(self, inputs, training=True):
        for layer in self._pipeline_layers:
            inputs = layer(inputs, training=training)
        return inputs

    def compute_output_shape(self, input_shape):
        for layer in self._pipeline_layers:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    def get_config(self):
        return {"layers": [serialization.serialize(layer) for layer in self._pipeline_layers], "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        layers = config.get("layers")
        if not isinstance(layers, (list, tuple)):
            raise ValueError(f"Pipeline: expected a config with a list of serialized layers under 'layers', "
                             f"got layers={layers!r}")
        return cls([serialization.deserialize(layer, custom_objects) for layer in layers], name=config.get("name"))
