"""`Model.summary()`: a table of layers, output shapes and parameter counts, Keras's layout."""

import numpy as np

from nablanet.layers.core import InputLayer


def _size(count, dtype="float32"):
    size = count * np.dtype(dtype).itemsize
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024


def _output_shape(layer):
    nodes = getattr(layer, "_inbound_nodes", [])
    if nodes and nodes[-1].outputs is not None:
        out = nodes[-1].outputs
        return str(out.shape if not isinstance(out, list) else [t.shape for t in out])
    return "?"


def print_summary(model, line_length=None, print_fn=None, show_trainable=False):
    write = print_fn or print
    widths = [31, 25, 15]
    rows = [(f"{layer.name} ({type(layer).__name__})", _output_shape(layer),
             f"{layer.count_params():,}" if layer.built else "0 (unbuilt)")
            for layer in model.layers if not (isinstance(layer, InputLayer) and type(model).__name__ == "Sequential")]
    widths = [max(w, max((len(r[i]) + 2 for r in rows), default=0)) for i, w in enumerate(widths)]

    def line(left, fill, middle, right):
        return left + middle.join(fill * w for w in widths) + right

    def cells(values, edge="│"):
        padded = [f" {v:<{w - 2}} " if i < 2 else f" {v:>{w - 2}} " for i, (v, w) in enumerate(zip(values, widths))]
        return edge + edge.join(padded) + edge

    write(f'Model: "{model.name}"')
    write(line("┏", "━", "┳", "┓"))
    write(cells(["Layer (type)", "Output Shape", "Param #"], "┃"))
    write(line("┡", "━", "╇", "┩"))
    for i, row in enumerate(rows):
        write(cells(row))
        if i < len(rows) - 1:
            write(line("├", "─", "┼", "┤"))
    write(line("└", "─", "┴", "┘"))
    trainable = sum(w.size for w in model.trainable_weights)
    non_trainable = sum(w.size for w in model.non_trainable_weights)
    optimizer = model.optimizer
    optimizer_params = 0
    if optimizer is not None and optimizer.built:
        optimizer_params = sum(v.size for v in optimizer.variables) + 2  # + iterations, learning rate
    total = trainable + non_trainable + optimizer_params
    write(f" Total params: {total:,} ({_size(total)})")
    write(f" Trainable params: {trainable:,} ({_size(trainable)})")
    write(f" Non-trainable params: {non_trainable:,} ({_size(non_trainable)})")
    if optimizer_params:
        write(f" Optimizer params: {optimizer_params:,} ({_size(optimizer_params)})")
