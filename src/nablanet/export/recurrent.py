"""ONNX forms of SimpleRNN, LSTM, GRU and Bidirectional.

Without a mask, a layer whose activations ONNX's recurrent ops offer becomes one RNN, LSTM or
GRU node (weights reordered: Keras's LSTM gates i, f, c, o are ONNX's i, o, f, c; GRU's z, r, h
match, with `linear_before_reset` = `reset_after`). With a mask, or other activations, the layer
becomes a Scan over the time steps whose body is the cell's math. That form honours any mask,
not only right padding (which is all ONNX's `sequence_lens` can express): a masked step keeps
the state and repeats the previous output (zeros with `zero_output_for_mask`), as the layer does.
`recurrent_masks="sequence_lens"` exports masked layers as the native ops instead, with the
count of kept steps as `sequence_lens`: faster, and right only for right-padded masks.
"""

import numpy as np

from nablanet import activations, layers
from nablanet.export.activations import activation
from nablanet.export.graph import ExportError, GraphBuilder, Masked, converter

_NATIVE = {activations.tanh: "Tanh", activations.sigmoid: "Sigmoid", activations.relu: "Relu"}
_ONNX_OP = {layers.SimpleRNNCell: "RNN", layers.LSTMCell: "LSTM", layers.GRUCell: "GRU"}  # by the cell's class


def _lstm_order(w, units):
    """Columns in ONNX's gate order i, o, f, c from Keras's i, f, c, o."""
    i, f, c, o = (w[..., k * units:(k + 1) * units] for k in range(4))
    return np.concatenate([i, o, f, c], axis=-1)


def _cell_activations(cell):
    fns = [cell.activation] if isinstance(cell, layers.SimpleRNNCell) else (
        [cell.recurrent_activation, cell.activation] + ([cell.activation] if isinstance(cell, layers.LSTMCell) else []))
    return fns


def _check(layer):
    if type(layer.cell) not in _ONNX_OP:
        raise ExportError(f"export: {type(layer).__name__} {layer.name!r} runs a {type(layer.cell).__name__}, which "
                          "has no ONNX form here (SimpleRNNCell, LSTMCell and GRUCell do)")
    if layer.stateful:
        raise ExportError(f"export: {type(layer).__name__} {layer.name!r} is stateful: its state lives between "
                          "calls, which an exported graph cannot keep; export a copy with stateful=False")


def run_recurrent(g, layer, x):
    """Run `layer` on `x`; returns (output, [states]) as Keras's layer gives them."""
    _check(layer)
    expressible = all(fn in _NATIVE for fn in _cell_activations(layer.cell))
    if expressible and (x.mask is None or g.options.get("recurrent_masks") == "sequence_lens"):
        return _native(g, layer, x)
    return _scan(g, layer, x)


def _native(g, layer, x):
    cell, units = layer.cell, layer.cell.units
    kernel, recurrent = cell.kernel.numpy(), cell.recurrent_kernel.numpy()
    gates = kernel.shape[1] // units
    bias = cell.bias.numpy() if cell.bias is not None else np.zeros(gates * units, np.float32)
    if isinstance(cell, layers.LSTMCell):
        kernel, recurrent, bias = (_lstm_order(w, units) for w in (kernel, recurrent, bias))
    if isinstance(cell, layers.GRUCell) and cell.reset_after and cell.bias is not None:
        biases = np.concatenate([bias[0], bias[1]])
    else:
        biases = np.concatenate([bias, np.zeros_like(bias)])
    inputs = [g.transpose(x.name, (1, 0, 2)), g.const(kernel.T[None], "W"), g.const(recurrent.T[None], "R"),
              g.const(biases[None], "B")]
    attributes = {"hidden_size": units, "direction": "reverse" if layer.go_backwards else "forward",
                  "activations": [_NATIVE[fn] for fn in _cell_activations(cell)]}
    if isinstance(cell, layers.GRUCell):
        attributes["linear_before_reset"] = int(cell.reset_after)
    if x.mask is not None:  # sequence_lens: the count of kept steps, right padding assumed
        inputs.append(g.reduce("ReduceSum", g.op("Cast", [x.mask], to=g.onnx.TensorProto.INT32), [1], keepdims=False))
    op = _ONNX_OP[type(cell)]
    count = 3 if op == "LSTM" else 2
    outs = g.op(op, inputs, outputs=["Y", "Y_h", "Y_c"][:count], **attributes)
    states = [g.squeeze(name, [0]) for name in outs[1:]]
    if not layer.return_sequences:
        if x.mask is not None and layer.zero_output_for_mask and not layer.go_backwards:
            last_kept = g.slice(x.mask, [-1], [np.iinfo(np.int64).max], [1])  # a padded last step outputs 0
            return g.op("Where", [last_kept, states[0], g.const(np.float32(0.0))]), states
        return states[0], states
    sequence = g.transpose(g.squeeze(outs[0], [1]), (1, 0, 2))
    if layer.go_backwards:  # Keras gives the steps in the order it ran them
        sequence = g.reverse(sequence, 1)
    if x.mask is None:
        return sequence, states
    keep = g.unsqueeze(g.reverse(x.mask, 1) if layer.go_backwards else x.mask, [2])
    repeat = not (layer.zero_output_for_mask or layer.go_backwards)  # padded steps repeat the last output
    prior = g.unsqueeze(states[0], [1]) if repeat else g.const(np.float32(0.0))
    return g.op("Where", [keep, sequence, prior]), states


def _scan(g, layer, x):
    cell, units = layer.cell, layer.cell.units
    lstm = isinstance(cell, layers.LSTMCell)
    kernel = cell.kernel.numpy()
    in_bias = rec_bias = None
    if cell.bias is not None:
        reset_after = isinstance(cell, layers.GRUCell) and cell.reset_after
        in_bias, rec_bias = (cell.bias.numpy()[0], cell.bias.numpy()[1]) if reset_after else (cell.bias.numpy(), None)
    projected = g.op("MatMul", [x.name, g.const(kernel, "kernel")])  # all steps' input projections at once
    if in_bias is not None:
        projected = g.op("Add", [projected, g.const(in_bias, "bias")])
    scans = [g.transpose(projected, (1, 0, 2))]
    if x.mask is not None:
        scans.append(g.unsqueeze(g.transpose(x.mask, (1, 0)), [2]))
    zeros = g.zeros(x.name, units)  # initial h, (c,) and the previous output
    state_count = 3 if lstm else 2
    body = _body(g, layer, rec_bias, masked=x.mask is not None)
    directions = [1] * len(scans) if layer.go_backwards else [0] * len(scans)
    outs = g.op("Scan", [zeros] * state_count + scans, outputs=["h", "c", "last", "Y"] if lstm else ["h", "last", "Y"],
                body=body, num_scan_inputs=len(scans), scan_input_directions=directions)
    states, last, sequence = outs[:state_count - 1], outs[state_count - 1], outs[state_count]
    if not layer.return_sequences:
        return last, states
    return g.transpose(sequence, (1, 0, 2)), states


def _body(g, layer, rec_bias, masked):
    """The Scan body: (h, [c,] previous output, projected input[, mask]) -> new ones and the output."""
    onnx, cell, units = g.onnx, layer.cell, layer.cell.units
    b = GraphBuilder(onnx, g.opset, parent=g)
    lstm = isinstance(cell, layers.LSTMCell)
    names = ["h"] + (["c"] if lstm else []) + ["out", "xw"] + (["keep"] if masked else [])
    inputs = {name: b.fresh(f"body_{name}") for name in names}
    h, xw = inputs["h"], inputs["xw"]
    recurrent = cell.recurrent_kernel.numpy()

    def part(name, k):  # the k-th gate's block of columns
        return b.slice(name, [k * units], [(k + 1) * units], [1])

    if isinstance(cell, layers.SimpleRNNCell):
        new_h = activation(b, cell.activation, b.op("Add", [xw, b.op("MatMul", [h, b.const(recurrent, "R")])]), layer)
        new_states = [new_h]
    elif lstm:
        z = b.op("Add", [xw, b.op("MatMul", [h, b.const(recurrent, "R")])])
        gate = [activation(b, cell.recurrent_activation, part(z, k), layer) for k in (0, 1, 3)]
        candidate = activation(b, cell.activation, part(z, 2), layer)
        new_c = b.op("Add", [b.op("Mul", [gate[1], inputs["c"]]), b.op("Mul", [gate[0], candidate])])
        new_h = b.op("Mul", [gate[2], activation(b, cell.activation, new_c, layer)])
        new_states = [new_h, new_c]
    else:
        new_h = _gru_step(b, layer, xw, h, recurrent, rec_bias, part)
        new_states = [new_h]
    out = new_h
    if masked:
        keep = inputs["keep"]
        new_states = [b.op("Where", [keep, new, inputs[old]]) for new, old in zip(new_states, ["h", "c"])]
        prior = b.const(np.float32(0.0)) if layer.zero_output_for_mask else inputs["out"]
        out = b.op("Where", [keep, out, prior])
    results = [b.op("Identity", [r]) for r in new_states + [out, out]]  # each output its own name
    float_, bool_ = onnx.TensorProto.FLOAT, onnx.TensorProto.BOOL
    value_info = [onnx.helper.make_tensor_value_info(inputs[n], bool_ if n == "keep" else float_, None) for n in names]
    outputs = [onnx.helper.make_tensor_value_info(r, float_, None) for r in results]
    return onnx.helper.make_graph(b.nodes, g.fresh(f"{layer.name}_step"), value_info, outputs)


def _gru_step(b, layer, xw, h, recurrent, rec_bias, part):
    cell, units = layer.cell, layer.cell.units

    def sigma(v):
        return activation(b, cell.recurrent_activation, v, layer)

    if cell.reset_after:
        inner = b.op("MatMul", [h, b.const(recurrent, "R")])
        if rec_bias is not None:
            inner = b.op("Add", [inner, b.const(rec_bias, "recurrent_bias")])
        z = sigma(b.op("Add", [part(xw, 0), part(inner, 0)]))
        r = sigma(b.op("Add", [part(xw, 1), part(inner, 1)]))
        candidate = activation(b, cell.activation, b.op("Add", [part(xw, 2), b.op("Mul", [r, part(inner, 2)])]), layer)
    else:
        def matmul(v, k):
            return b.op("MatMul", [v, b.const(recurrent[:, k * units:(k + 1) * units], "R")])

        z = sigma(b.op("Add", [part(xw, 0), matmul(h, 0)]))
        r = sigma(b.op("Add", [part(xw, 1), matmul(h, 1)]))
        candidate = activation(b, cell.activation, b.op("Add", [part(xw, 2), matmul(b.op("Mul", [r, h]), 2)]), layer)
    one_minus_z = b.op("Sub", [b.const(np.float32(1.0)), z])
    return b.op("Add", [b.op("Mul", [z, h]), b.op("Mul", [one_minus_z, candidate])])


@converter(layers.SimpleRNN, layers.LSTM, layers.GRU, layers.RNN)
def _recurrent(g, layer, x):
    output, states = run_recurrent(g, layer, x)
    mask = x.mask if layer.return_sequences else None
    if layer.return_state:
        return Masked([output] + states, [mask] + [None] * len(states))
    return Masked(output, mask)


_MERGES = {"sum": "Add", "mul": "Mul"}


@converter(layers.Bidirectional)
def _bidirectional(g, layer, x):
    for direction in (layer.forward_layer, layer.backward_layer):
        if type(direction) not in (layers.SimpleRNN, layers.LSTM, layers.GRU, layers.RNN):
            raise ExportError(f"export: Bidirectional {layer.name!r} wraps a {type(direction).__name__}, which has "
                              "no ONNX form here (SimpleRNN, LSTM, GRU and RNN do)")
    y, states = run_recurrent(g, layer.forward_layer, x)
    y_rev, states_rev = run_recurrent(g, layer.backward_layer, x)
    if layer.return_sequences:
        y_rev = g.reverse(y_rev, 1)
    mode = layer.merge_mode
    if mode is None:
        outputs = [y, y_rev]
    elif mode == "concat":
        outputs = [g.op("Concat", [y, y_rev], axis=-1)]
    elif mode == "ave":
        outputs = [g.op("Div", [g.op("Add", [y, y_rev]), g.const(np.float32(2.0))])]
    else:
        outputs = [g.op(_MERGES[mode], [y, y_rev])]
    mask = x.mask if layer.return_sequences else None
    masks = [mask] * len(outputs)
    if layer.return_state:
        outputs, masks = outputs + states + states_rev, masks + [None] * (len(states) + len(states_rev))
    if len(outputs) == 1:
        return Masked(outputs[0], mask)
    return Masked(outputs, masks)
