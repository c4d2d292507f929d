"""`export_onnx`: a functional or Sequential model as an ONNX file for other runtimes.

The model's graph is walked node by node (nested models included) and each layer call becomes
ONNX nodes through the converter table in `graph.py`. Masks (from `Embedding(mask_zero=True)`
or `Masking`) travel beside the values as boolean tensors, as they travel on the Tensors when
the model runs. The batch axis, and any axis the model leaves unknown, stays symbolic.
"""

import inspect
import os

import numpy as np

from nablanet.export.graph import CALL_ARGUMENTS, CONVERTERS, ExportError, GraphBuilder, Masked, Value
from nablanet.symbolic import KerasTensor
from nablanet.tree import flatten, map_structure
from nablanet.layers.core import InputLayer
from nablanet.layers.operation import Operation
from nablanet.models import Model, Sequential
from nablanet.saving import atomic_write

DEFAULT_OPSET = 18
MIN_OPSET = 15  # Shape's start/end and Scan's current form


def import_onnx():
    """The `onnx` package, or an ImportError that names the extra to install."""
    try:
        import onnx
    except ImportError as error:
        raise ImportError("export(format='onnx') needs the onnx package: pip install 'nablanet[onnx]'") from error
    return onnx


def load_converters():
    """Register the converters of nablanet's own layers (on the first export, which keeps
    `import nablanet` fast)."""
    from nablanet.export import attention, conv, layers, ops, recurrent  # noqa: F401 -- importing registers them


def export_onnx(model, filepath, verbose=None, input_signature=None, opset_version=None, recurrent_masks="scan",
                **kwargs):
    """Write `model`'s inference pass (`predict`) to `filepath` as an ONNX model.

    Args:
        model: A functional or Sequential model (nested models inside are fine); a subclassed
            model has no graph to export.
        filepath: Where to write the `.onnx` file (atomically: a temporary file, then a rename).
        verbose: Print where the file went (Keras's default: True).
        input_signature: Optional shapes (and dtypes) of the inputs, batch axis included: a
            `KerasTensor`, an array, anything with `.shape` (and `.dtype`), or a list of them for
            several inputs; None in a shape keeps that axis dynamic. By default the model's own
            input shapes, with a dynamic batch axis. An unbuilt Sequential model needs it.
        opset_version: The ONNX opset (default 18; 15 at least).
        recurrent_masks: How a recurrent layer with a mask (from `Embedding(mask_zero=True)` or
            `Masking`) is written: "scan" (the default) steps the cell in a Scan and honours any
            mask exactly; "sequence_lens" uses ONNX's own RNN/LSTM/GRU ops with the count of kept
            steps as `sequence_lens`, which runtimes run faster and optimize, but which is right
            only for right-padded masks (every masked step after every kept one in each row).

    Returns:
        The path written.

    Example:
        >>> import os, tempfile, nablanet
        >>> model = nablanet.Sequential([nablanet.layers.Dense(2, input_shape=(3,))])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     export_onnx(model, os.path.join(folder, "model.onnx"), verbose=False).endswith("model.onnx")
        True
    """
    if kwargs:
        raise TypeError(f"export_onnx: unexpected argument(s) {sorted(kwargs)}; it takes verbose, "
                        "input_signature, opset_version and recurrent_masks")
    proto = to_onnx(model, input_signature=input_signature, opset_version=opset_version,
                    recurrent_masks=recurrent_masks)
    filepath = os.fspath(filepath)
    with atomic_write(filepath) as handle:
        handle.write(proto.SerializeToString())
    if verbose is None or verbose:
        print(f"Saved artifact at '{filepath}'.")
    return filepath


def to_onnx(model, input_signature=None, opset_version=None, recurrent_masks="scan"):
    """The ONNX `ModelProto` of `model` (see `export_onnx`), checked by `onnx.checker`."""
    if recurrent_masks not in ("scan", "sequence_lens"):
        raise ValueError(f"export_onnx: recurrent_masks must be 'scan' or 'sequence_lens', got {recurrent_masks!r}")
    onnx = import_onnx()
    load_converters()
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= newest:
        raise ValueError(f"export_onnx: opset_version must be in [{MIN_OPSET}, {newest}], got {opset_version!r}")
    if not isinstance(model, Model):
        raise TypeError(f"export_onnx: expected a nablanet Model, got {type(model).__name__}")
    symbolic = _model_inputs(model, input_signature)
    for weight in model.weights:
        if np.dtype(weight.dtype) != np.float32:
            raise ExportError(f"export: model {model.name!r} has the {weight.dtype} weight {weight.path!r}; ONNX "
                              "export writes float32 models (as Keras's does): build the model in float32")
    g = GraphBuilder(onnx, opset, options={"recurrent_masks": recurrent_masks})
    inputs = [Value(tensor.name or f"input_{i}", shape, dtype) for i, (tensor, shape, dtype) in enumerate(symbolic)]
    names = _output_names(model, {v.name for v in inputs})
    g.reserved.update(names + [v.name for v in inputs])
    outputs = run_model(g, model, inputs)
    for value, name in zip(outputs, names):
        g.nodes.append(onnx.helper.make_node("Identity", [value.name], [name], name=g.fresh("output")))
    graph = onnx.helper.make_graph(
        g.nodes, model.name, [_value_info(onnx, v.name, v.shape, v.dtype, dynamic=True) for v in inputs],
        [_value_info(onnx, name, v.shape, v.dtype) for v, name in zip(outputs, names)], initializer=g.initializers)
    proto = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", opset)],
                                   producer_name="nablanet")
    onnx.checker.check_model(proto)
    return proto


def _value_info(onnx, name, shape, dtype, dynamic=False):
    """A graph input's or output's type; an input's unknown axes get names ("batch" the first),
    an output's stay unnamed for the runtime to infer."""
    dims = list(shape)
    if dynamic:
        dims = ["batch" if axis == 0 and d is None else (f"{name}_dim{axis}" if d is None else d)
                for axis, d in enumerate(shape)]
    return onnx.helper.make_tensor_value_info(name, onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), dims)


def _output_names(model, taken):
    """The outputs' names: their layers' names, made unique."""
    names = []
    for tensor in flatten(model.outputs):
        base = tensor.name or "output"
        name, n = base, 0
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        names.append(name)
    return names


def _model_inputs(model, input_signature):
    """(KerasTensor, shape, dtype) for each input of the model, the signature's where given."""
    specs = None
    if input_signature is not None:
        listed = isinstance(input_signature, (list, tuple)) and not _is_shape_like(input_signature)
        specs = list(input_signature) if listed else [input_signature]
    if isinstance(model, Sequential) and getattr(model, "inputs", None) is None:
        if specs is None:
            raise ExportError(f"export: Sequential model {model.name!r} has no input shape yet; build it (an Input "
                              "first, input_shape= on the first layer, or fit/predict once) or pass input_signature")
        model.build(tuple(_shape_of(specs[0])))  # as Keras does with the signature
    if model._graph is None:
        raise ExportError(f"export: model {model.name!r} ({type(model).__name__}) is a subclassed model: it has no "
                          "graph of layers to export. Build it with the functional API or Sequential.")
    tensors = flatten(model.inputs)
    if specs is None:
        return [(t, t.shape, np.dtype(t.dtype)) for t in tensors]
    if len(specs) != len(tensors):
        raise ValueError(f"export: input_signature has {len(specs)} entries, the model has {len(tensors)} inputs")
    found = []
    for t, spec in zip(tensors, specs):
        shape = tuple(None if d is None else int(d) for d in _shape_of(spec))
        clash = any(a is not None and b is not None and a != b for a, b in zip(shape, t.shape))
        if len(shape) != len(t.shape) or clash:
            raise ValueError(f"export: input_signature shape {shape} does not fit the model's input {t.name!r} "
                             f"of shape {t.shape}")
        found.append((t, shape, np.dtype(getattr(spec, "dtype", None) or t.dtype)))
    return found


def _is_shape_like(value):
    return isinstance(value, tuple) and all(d is None or isinstance(d, (int, np.integer)) for d in value)


def _shape_of(spec):
    return spec if _is_shape_like(spec) else tuple(spec.shape)


def run_model(g, model, inputs):
    """Add `model`'s nodes to `g`, reading `inputs` (Values); returns its outputs (Values)."""
    graph = model._graph
    if graph is None:
        raise ExportError(f"export: model {model.name!r} ({type(model).__name__}) has no graph of layers to export "
                          "(a subclassed model); build it with the functional API or Sequential")
    values = {id(t): v for t, v in zip(flatten(graph.inputs), inputs)}

    def read(t):
        return values[id(t)] if isinstance(t, KerasTensor) else t

    for node in graph.nodes:
        if isinstance(node.layer, InputLayer):
            continue
        if isinstance(node.layer, Operation):  # an op's tensors are all its node's positional arguments
            args = [map_structure(read, a) for a in (node.inputs, *node.args)]
        elif type(node.layer) in CALL_ARGUMENTS:
            bound = inspect.signature(node.layer.call).bind(node.inputs, *node.args, **node.kwargs)
            args = {name: map_structure(read, a) for name, a in bound.arguments.items()}
        else:
            others = flatten(list(node.args)) + flatten(list(node.kwargs.values()))
            if any(isinstance(t, KerasTensor) for t in others):
                raise ExportError(f"export: layer {node.layer.name!r} ({type(node.layer).__name__}) is called with "
                                  "tensor arguments besides its inputs (initial_state=, mask=, ...), which export "
                                  "does not support")
            args = map_structure(lambda t: values[id(t)], node.inputs)
        for tensor, value in zip(flatten(node.outputs), call_layer(g, node.layer, args, flatten(node.outputs))):
            values[id(tensor)] = value
    return [values[id(t)] for t in flatten(graph.outputs)]


def call_layer(g, layer, args, out_tensors):
    """The Values `layer` gives for `args` (a Value or a list of them)."""
    if isinstance(layer, Model):
        return run_model(g, layer, flatten(args))
    fn = CONVERTERS.get(type(layer))
    if fn is None:
        supported = sorted({cls.__name__ for cls in CONVERTERS if cls is not InputLayer})
        raise ExportError(f"export: layer {layer.name!r} of class {type(layer).__name__} has no ONNX converter. "
                          f"Layers with one: {', '.join(supported)}. Register one with "
                          "nablanet.export.converter.")
    result = fn(g, layer, args)
    first = flatten(args)[0]
    if isinstance(result, Masked):
        names, masks = result.outputs, result.mask
    else:
        names, masks = result, first.mask if layer.supports_masking else None
    names = names if isinstance(names, list) else [names]
    masks = masks if isinstance(masks, list) else [masks] * len(names)
    if len(names) != len(out_tensors):
        raise ExportError(f"export: the converter of {type(layer).__name__} {layer.name!r} gave {len(names)} "
                          f"outputs, the layer has {len(out_tensors)}")
    return [Value(name, t.shape, t.dtype, mask) for name, t, mask in zip(names, out_tensors, masks)]


__all__ = ["export_onnx", "to_onnx"]
