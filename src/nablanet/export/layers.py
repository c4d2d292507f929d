"""ONNX forms of the core, reshaping, normalization, merging and embedding layers.

Each converter mirrors the layer's `call` at inference (`training=False`), op for op where the
rounding could differ, so the exported model agrees with `predict` to float32 rounding.
"""

import numpy as np

from nablanet import layers
from nablanet.export.activations import activation
from nablanet.export.graph import CONVERTERS, ExportError, Masked, Value, converter

# -- core ----------------------------------------------------------------------------------------


@converter(layers.InputLayer, layers.Dropout, layers.SpatialDropout1D, layers.SpatialDropout2D,
           layers.GaussianNoise, layers.GaussianDropout, layers.AlphaDropout, layers.RandomFlip,
           layers.RandomRotation, layers.RandomTranslation, layers.RandomZoom, layers.RandomContrast)
def _identity(g, layer, x):
    return Masked(x.name, x.mask)  # active only in training; the mask rides along as on the same Tensor


@converter(layers.Dense)
def _dense(g, layer, x):
    y = g.op("MatMul", [x.name, g.const(layer.kernel.numpy(), "kernel")])
    if layer.bias is not None:
        y = g.op("Add", [y, g.const(layer.bias.numpy(), "bias")])
    return activation(g, layer.activation, y, layer)


@converter(layers.Rescaling)
def _rescaling(g, layer, x):
    return g.op("Add", [g.op("Mul", [x.name, g.const(np.asarray(layer.scale))]), g.const(np.asarray(layer.offset))])

# -- reshaping -----------------------------------------------------------------------------------


@converter(layers.Flatten)
def _flatten(g, layer, x):
    y = x.name
    if layer.data_format == "channels_first" and x.ndim > 2:
        y = g.transpose(y, (0,) + tuple(range(2, x.ndim)) + (1,))
    return g.op("Flatten", [y], axis=1)


@converter(layers.Reshape)
def _reshape(g, layer, x):
    return g.reshape(x.name, (0,) + layer.target_shape)  # 0 keeps the (dynamic) batch


@converter(layers.Permute)
def _permute(g, layer, x):
    return g.transpose(x.name, (0,) + layer.dims)


@converter(layers.RepeatVector)
def _repeat_vector(g, layer, x):
    return g.op("Expand", [g.unsqueeze(x.name, [1]), g.const(np.array([1, layer.n, 1], np.int64), "shape")])


def _channels_last_spatial(g, layer, x, rank, fn):
    """`fn` on the channels-last form of `x` (rank spatial axes), put back in the layer's format."""
    y = x.name
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        y = g.transpose(y, (0,) + tuple(range(2, rank + 2)) + (1,))
    y = fn(y)
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        y = g.transpose(y, (0, rank + 1) + tuple(range(1, rank + 1)))
    return y


@converter(layers.ZeroPadding1D, layers.ZeroPadding2D)
def _zero_padding(g, layer, x):
    rank = 1 if isinstance(layer, layers.ZeroPadding1D) else 2
    pairs = np.reshape(np.asarray(layer.padding), (rank, 2))
    pads = [0, *pairs[:, 0], 0, 0, *pairs[:, 1], 0]  # batch and channels unpadded
    return _channels_last_spatial(g, layer, x, rank, lambda y: g.op("Pad", [y, g.const(np.array(pads, np.int64))]))


@converter(layers.Cropping1D, layers.Cropping2D)
def _cropping(g, layer, x):
    rank = 1 if isinstance(layer, layers.Cropping1D) else 2
    pairs = np.reshape(np.asarray(layer.cropping), (rank, 2)).tolist()
    ends = [(-after if after else np.iinfo(np.int64).max) for _, after in pairs]
    return _channels_last_spatial(g, layer, x, rank, lambda y: g.slice(
        y, [before for before, _ in pairs], ends, list(range(1, rank + 1))))


@converter(layers.UpSampling1D, layers.UpSampling2D)
def _upsampling(g, layer, x):
    rank = 1 if isinstance(layer, layers.UpSampling1D) else 2
    sizes = (layer.size,) if rank == 1 and isinstance(layer.size, int) else tuple(layer.size)
    if getattr(layer, "interpolation", "nearest") != "nearest":
        raise ExportError(f"export: {type(layer).__name__} {layer.name!r} with interpolation="
                          f"{layer.interpolation!r} has no ONNX form here; use 'nearest'")

    def repeat(y):  # each position `size` times: insert an axis after it, expand, merge the two
        for axis, size in zip(range(1, rank + 1), sizes):
            expand = [1] * (rank + 3)
            expand[axis + 1] = size
            y = g.op("Expand", [g.unsqueeze(y, [axis + 1]), g.const(np.array(expand, np.int64), "shape")])
            merged = [g.dims(y, 0, axis), g.const(np.array([-1], np.int64)), g.dims(y, axis + 2, rank + 3)]
            y = g.op("Reshape", [y, g.op("Concat", merged, axis=0)])
        return y

    return _channels_last_spatial(g, layer, x, rank, repeat)

# -- normalization -------------------------------------------------------------------------------


def _broadcast(param, ndim, axes):
    shape = [1] * ndim
    for a, size in zip(axes, param.shape):
        shape[a] = size
    return param.reshape(shape)


def _affine(g, layer, y, ndim, axes):
    if layer.gamma is not None:
        y = g.op("Mul", [y, g.const(_broadcast(layer.gamma.numpy(), ndim, axes), "gamma")])
    if layer.beta is not None:
        y = g.op("Add", [y, g.const(_broadcast(layer.beta.numpy(), ndim, axes), "beta")])
    return y


@converter(layers.BatchNormalization)
def _batch_norm(g, layer, x):
    axes = layer._axes(x.ndim)  # the moving statistics, exactly as the layer's inference branch
    mean = _broadcast(layer.moving_mean.numpy(), x.ndim, axes)
    std = np.sqrt(_broadcast(layer.moving_variance.numpy(), x.ndim, axes) + np.float32(layer.epsilon))
    y = g.op("Div", [g.op("Sub", [x.name, g.const(mean, "moving_mean")]), g.const(std, "moving_std")])
    return _affine(g, layer, y, x.ndim, axes)


def _normalize(g, y, axes, epsilon, center=True):
    if center:
        y = g.op("Sub", [y, g.reduce("ReduceMean", y, axes)])
    variance = g.reduce("ReduceMean", g.op("Mul", [y, y]), axes)
    return g.op("Div", [y, g.op("Sqrt", [g.op("Add", [variance, g.const(float(epsilon))])])])


@converter(layers.LayerNormalization)
def _layer_norm(g, layer, x):
    axes = layer._axes(x.ndim)
    if layer.rms_scaling:
        y = _normalize(g, x.name, axes, layer.epsilon, center=False)
        if layer.gamma is not None:
            y = g.op("Mul", [y, g.const(_broadcast(layer.gamma.numpy(), x.ndim, axes), "gamma")])
        return y
    return _affine(g, layer, _normalize(g, x.name, axes, layer.epsilon), x.ndim, axes)


@converter(layers.GroupNormalization)
def _group_norm(g, layer, x):
    axis = layer._axes(x.ndim)[0]
    swap = list(range(x.ndim))
    swap[axis], swap[-1] = swap[-1], swap[axis]
    y = g.transpose(x.name, swap)
    shape = [x.shape[i] for i in swap]
    channels = shape[-1]
    grouped = g.reshape(y, [0] + [d if d is not None else 0 for d in shape[1:-1]]
                        + [layer.groups, channels // layer.groups])
    reduce = list(range(1, x.ndim - 1)) + [x.ndim]
    y = g.reshape(_normalize(g, grouped, reduce, layer.epsilon), [0] + [d if d is not None else 0 for d in shape[1:]])
    return g.transpose(_affine(g, layer, y, x.ndim, [x.ndim - 1]), swap)


# -- merging -------------------------------------------------------------------------------------

_ELEMENTWISE = {layers.Add: "Add", layers.Subtract: "Sub", layers.Multiply: "Mul", layers.Maximum: "Max",
                layers.Minimum: "Min"}


@converter(*_ELEMENTWISE)
def _elementwise(g, layer, xs):
    op = _ELEMENTWISE[type(layer)]
    out = xs[0].name
    for x in xs[1:]:
        out = g.op(op, [out, x.name])
    return out


@converter(layers.Average)
def _average(g, layer, xs):
    total = xs[0].name
    for x in xs[1:]:
        total = g.op("Add", [total, x.name])
    return g.op("Div", [total, g.const(float(len(xs)))])


@converter(layers.Dot)
def _dot(g, layer, xs):
    a, b = xs
    axis_a, axis_b = layer._axes(a.ndim, b.ndim)
    left, right = a.name, b.name
    if layer.normalize:
        left, right = _unit(g, left, axis_a), _unit(g, right, axis_b)
    left = g.transpose(left, _swap(a.ndim, axis_a, a.ndim - 1))  # contract a's last axis with b's second-to-last
    right = g.transpose(right, _swap(b.ndim, axis_b, 1)) if b.ndim > 2 else g.unsqueeze(right, [-1])
    out = g.op("MatMul", [left if a.ndim > 2 else g.unsqueeze(left, [1]), right])
    shape = layer._out_shape(a.shape, b.shape)
    if sum(d is None for d in shape[1:]) > 1:
        raise ExportError(f"export: Dot {layer.name!r}: more than one unknown dimension in its output {shape}")
    return g.reshape(out, [0] + [-1 if d is None else d for d in shape[1:]])


def _swap(ndim, i, j):
    perm = list(range(ndim))
    perm[i], perm[j] = perm[j], perm[i]
    return perm


def _unit(g, x, axis):
    norm = g.reduce("ReduceSum", g.op("Mul", [x, x]), [axis])
    return g.op("Div", [x, g.op("Sqrt", [g.op("Max", [norm, g.const(1e-12)])])])


@converter(layers.Concatenate)
def _concatenate(g, layer, xs):
    return g.op("Concat", [x.name for x in xs], axis=int(layer.axis))


# -- embedding and masking -----------------------------------------------------------------------


@converter(layers.Embedding)
def _embedding(g, layer, x):
    ids = x.name if x.dtype.kind in "iu" else g.op("Cast", [x.name], to=g.onnx.TensorProto.INT64)
    id_dtype = x.dtype if x.dtype.kind in "iu" else np.int64
    y = g.op("Gather", [g.const(layer.embeddings.numpy(), "embeddings"), ids], axis=0)
    mask = g.op("Not", [g.op("Equal", [ids, g.const(np.array(0), dtype=id_dtype)])]) if layer.mask_zero else None
    return Masked(y, mask)


@converter(layers.Masking)
def _masking(g, layer, x):
    differs = g.op("Cast", [g.op("Not", [g.op("Equal", [x.name, g.const(np.float32(layer.mask_value))])])], to=1)
    keep = g.reduce("ReduceMax", differs, [-1], keepdims=True)  # any feature differs
    y = g.op("Mul", [x.name, keep])
    return Masked(y, g.op("Cast", [g.squeeze(keep, [-1])], to=g.onnx.TensorProto.BOOL))


@converter(layers.TimeDistributed)
def _time_distributed(g, layer, x):
    inner = layer.layer
    flat = g.reshape(x.name, [-1] + [d if d is not None else 0 for d in x.shape[2:]])  # (batch * steps, ...)
    fn = CONVERTERS.get(type(inner))
    if fn is None:
        raise ExportError(f"export: TimeDistributed {layer.name!r} wraps {type(inner).__name__} {inner.name!r}, "
                          "which has no ONNX converter")
    y = fn(g, inner, Value(flat, (None,) + tuple(x.shape[2:]), x.dtype))
    y = y.outputs if isinstance(y, Masked) else y
    out_shape = inner.compute_output_shape((None,) + tuple(x.shape[2:]))
    tail = g.const(np.array([d if d is not None else -1 for d in out_shape[1:]], np.int64), "shape")
    shape = g.op("Concat", [g.dims(x.name, 0, 2), tail], axis=0)
    return Masked(g.op("Reshape", [y, shape]), x.mask)  # a (batch, steps) mask stays as it is
