"""`Model.summary()`: a table of layers, output shapes and parameter counts, laid out as Keras 3
prints it when its output is captured (`print_fn=`) or not a terminal: the same columns, widths,
wrapping and totals, without colours."""

import re
import shutil

import numpy as np

from nablanet.layers.core import InputLayer
from nablanet.layers.operation import Operation
from nablanet.tree import flatten, map_structure


def _memory(weights):
    """Bytes taken by the distinct `weights`, each at its own dtype."""
    unique = {id(w): w for w in weights}.values()
    return sum(int(np.prod(w.shape)) * np.dtype(getattr(w, "dtype", "float32")).itemsize for w in unique)


def _readable(size):
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def _count(weights):
    return sum(int(np.prod(w.shape)) for w in {id(w): w for w in weights}.values())


def _shape_text(shape):
    return "(" + ", ".join(str(d) for d in shape) + ")"  # Keras writes a 1-tuple as "(None)"


def _output_shape(layer):
    nodes = getattr(layer, "_inbound_nodes", [])
    if nodes and nodes[-1].outputs is not None:
        shapes = map_structure(lambda t: _shape_text(t.shape), nodes[-1].outputs)
    elif getattr(layer, "built", False) and getattr(layer, "_build_shape", None) is not None:
        try:
            shapes = _shape_text(layer.compute_output_shape(layer._build_shape))
        except Exception:  # noqa: BLE001 -- a layer that cannot say shows "?", as in Keras
            return "?"
    else:
        return "?"
    flat = flatten(shapes)
    return flat[0] if len(flat) == 1 else str(shapes).replace("'", "")


def _is_sequential_like(model):
    """Keras's test: no graph node reads several tensors and no tensor feeds several nodes."""
    graph = getattr(model, "_graph", None)
    if graph is None:
        return True
    readers = {}
    for node in graph.nodes:
        inputs = node.input_tensors()
        if len(inputs) > 1:
            return False
        for t in inputs:
            readers[id(t)] = readers.get(id(t), 0) + 1
    return all(count == 1 for count in readers.values()) and len(flatten(graph.outputs)) == 1


def _connections(layer, graph):
    nodes = [node for node in getattr(layer, "_inbound_nodes", []) if any(node is n for n in graph.nodes)]
    found = []
    for node in nodes:
        for t in node.input_tensors():
            source, tensor_index = t.history
            source_nodes = getattr(source.layer, "_inbound_nodes", [])
            node_index = next((i for i, n in enumerate(source_nodes) if n is source), 0)
            found.append(f"{source.layer.name}[{node_index}][{tensor_index}]")
    return ", ".join(found) or "-"


def _layer_range(layers, layer_range):
    if layer_range is None:
        return 0, len(layers)
    if len(layer_range) != 2 or not all(isinstance(name, str) for name in layer_range):
        raise ValueError(f"Model.summary: layer_range must be two layer names (or regexes), got {layer_range!r}")
    lower = [i for i, layer in enumerate(layers) if re.match(layer_range[0], layer.name)]
    upper = [i for i, layer in enumerate(layers) if re.match(layer_range[1], layer.name)]
    if not lower or not upper:
        raise ValueError(f"Model.summary: layer_range {layer_range!r} matches no layer; the layers are "
                         f"{[layer.name for layer in layers]}")
    if min(lower) > max(upper):
        return min(upper), max(lower) + 1
    return min(lower), max(upper) + 1


def _reduce(excess, widths):
    """Take `excess` characters off the columns in equal shares, first columns first (the rule of
    the table renderer Keras uses)."""
    remaining, parts, result = excess, len(widths), []
    for width in widths:
        cut = min(width, round(remaining / parts))
        result.append(width - cut)
        remaining -= cut
        parts -= 1
    return result


def _wrap(text, width):
    """Lines of at most `width` characters, broken at spaces (leading spaces kept); a word too long
    ends in an ellipsis."""
    lines, line = [], ""
    for token in re.findall(r" *[^ ]+", text) or [""]:
        if line and len(line) + len(token) > width:
            lines.append(line)
            token = token.lstrip(" ")
        else:
            token = line + token
        line = token if len(token) <= width else token[:width - 1] + "…"
    return [*lines, line]


def _align(text, width, how):
    if how == "right":
        return text.rjust(width)
    if how == "center":
        left = (width - len(text)) // 2
        return " " * left + text + " " * (width - len(text) - left)
    return text.ljust(width)


def summary_lines(model, line_length=None, positions=None, expand_nested=False, show_trainable=False,
                  layer_range=None):
    """The summary of `model`, one string per printed line."""
    graph = getattr(model, "_graph", None)
    # a functional model lists its op nodes too (`x + y`, `x[:, 0]`), as Keras's summary does
    functional = graph is not None and type(model).__name__ != "Sequential"
    layers = list(graph.operations) if functional else list(model.layers)
    if type(model).__name__ == "Sequential" or graph is None:
        layers = [layer for layer in layers if not isinstance(layer, InputLayer)]
    sequential_like = _is_sequential_like(model)
    if sequential_like:
        default, positions = 88, positions or [0.45, 0.80, 1.0]
        header, alignment = ["Layer (type)", "Output Shape", "Param #"], ["left", "left", "right"]
    else:
        default, positions = 108, positions or [0.3, 0.56, 0.74, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        alignment = ["left", "left", "right", "left"]
    if show_trainable:
        default += 12
        positions = [p * 0.90 for p in positions] + [1.0]
        header.append("Trainable")
        alignment.append("center")
    line_length = line_length or min(default, shutil.get_terminal_size().columns - 4)
    if positions[-1] <= 1:
        positions = [int(p * line_length) for p in positions]
    widths, current = [], 0
    for position in positions:
        width = int(position) - current
        if width < 4:
            raise ValueError(f"Model.summary: line_length={line_length} is too narrow for the columns "
                             f"at {positions}")
        widths.append(width)
        current += width
    # each cell has one space of padding on both sides, and the borders take len(widths) + 1
    widths = [w + 2 for w in widths]
    available = line_length - len(widths) - 1
    if sum(widths) > available:
        widths = _reduce(sum(widths) - available, widths)

    def fields(layer, prefix):
        if not getattr(layer, "built", True):
            params = "0 (unbuilt)"
        else:
            params = f"{layer.count_params():,}"
        kind = layer._keras_class_name if isinstance(layer, Operation) else type(layer).__name__
        row = [f"{prefix}{layer.name} ({kind})", _output_shape(layer), params]
        if not sequential_like:
            row.append(_connections(layer, model._graph))
        if show_trainable:
            row.append(("Y" if layer.trainable else "N") if layer.weights else "-")
        return row

    def rows_of(layer, level=0):
        rows = [fields(layer, "   " * level + "└ " if level else "")]
        nested = getattr(layer, "layers", None) if expand_nested else None
        for inner in nested or []:
            if not (isinstance(inner, InputLayer) and type(layer).__name__ == "Sequential"):
                rows.extend(rows_of(inner, level + 1))
        return rows

    start, stop = _layer_range(layers, layer_range)
    rows = [row for layer in layers[start:stop] for row in rows_of(layer)]

    def border(left, fill, middle, right):
        return left + middle.join(fill * w for w in widths) + right

    def cells(values, edge, aligns, bottom=False):
        wrapped = [_wrap(str(v), w - 2) for v, w in zip(values, widths)]
        height = max(len(lines) for lines in wrapped)
        if bottom:  # the header's cells sit on its bottom line
            wrapped = [[""] * (height - len(lines)) + lines for lines in wrapped]
        out = []
        for i in range(height):
            parts = [" " + _align(lines[i] if i < len(lines) else "", w - 2, how) + " "
                     for lines, w, how in zip(wrapped, widths, aligns)]
            out.append(edge + edge.join(parts) + edge)
        return out

    lines = [f'Model: "{model.name}"', border("┏", "━", "┳", "┓")]
    lines += cells(header, "┃", alignment, bottom=True)
    lines.append(border("┡", "━", "╇", "┩"))
    for i, row in enumerate(rows):
        lines += cells(row, "│", alignment)
        if i < len(rows) - 1:
            lines.append(border("├", "─", "┼", "┤"))
    lines.append(border("└", "─", "┴", "┘"))
    trainable, non_trainable = model.trainable_weights, model.non_trainable_weights
    optimizer = getattr(model, "optimizer", None)
    optimizer_variables = None
    if getattr(model, "compiled", False) and optimizer is not None and optimizer.built:
        # Keras also counts its optimizer's step counter and learning rate, four bytes each
        optimizer_variables = [*optimizer.variables, np.zeros((), np.float32), np.zeros((), np.float32)]
    totals = [("Total", trainable + non_trainable + (optimizer_variables or [])), ("Trainable", trainable),
              ("Non-trainable", non_trainable)]
    if optimizer_variables is not None:
        totals.append(("Optimizer", optimizer_variables))
    lines += [f" {what} params: {_count(ws):,} ({_readable(_memory(ws))})" for what, ws in totals]
    return lines


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False, layer_range=None):
    """Print the summary: line by line with `print`, or as one string to `print_fn`, as Keras does."""
    lines = summary_lines(model, line_length=line_length, positions=positions, expand_nested=expand_nested,
                          show_trainable=show_trainable, layer_range=layer_range)
    if print_fn is None:
        for line in lines:
            print(line)
    else:
        print_fn("\n".join(lines) + "\n")
