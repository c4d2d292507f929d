"""Drawing a model's layer graph: SVG and DOT with no dependency, PNG through matplotlib.

Graphviz is not needed. Layers are placed in rows by their depth (the longest path from an
input), a box per layer with its type and, optionally, its name, output shape, dtype, activation and
whether it is trainable.
"""

import os
import warnings
from html import escape

from nablanet.compat import warn_ignored
from nablanet.symbolic import KerasTensor
from nablanet.tree import flatten

BOX_W, BOX_H, GAP_X, GAP_Y = 260, 54, 30, 36


def layer_graph(model):
    """`(layers, edges)`: every layer once, and `(source, target)` index pairs between them."""
    from nablanet.layers.core import InputLayer

    model_layers = list(model.layers)
    if type(model).__name__ == "Sequential" and getattr(model, "inputs", None) is not None:
        model_layers = [model.input.history[0].layer] + model_layers  # a Sequential lists no InputLayer
    index = {id(layer): i for i, layer in enumerate(model_layers)}
    edges = set()
    if type(model).__name__ == "Sequential":
        edges = {(i, i + 1) for i in range(len(model_layers) - 1)}
    else:
        for layer in model_layers:
            for node in layer._inbound_nodes:
                for t in node.input_tensors():
                    source = t.history[0].layer
                    if id(source) in index and id(layer) in index and not isinstance(layer, InputLayer):
                        edges.add((index[id(source)], index[id(layer)]))
    return model_layers, sorted(edges)


def _labels(layer, show_shapes=False, show_dtype=False, show_layer_names=True, show_layer_activations=False,
            show_trainable=False):
    title = f"{layer.name} ({type(layer).__name__})" if show_layer_names else type(layer).__name__
    lines = [title]
    activation = getattr(layer, "activation", None)
    if show_layer_activations and callable(activation):
        lines.append("activation: " + getattr(activation, "__name__", type(activation).__name__))
    if show_trainable:
        lines.append(f"trainable: {layer.trainable}")
    if show_shapes or show_dtype:
        out = layer._inbound_nodes[-1].outputs if layer._inbound_nodes else None
        tensors = [t for t in flatten(out) if isinstance(t, KerasTensor)] if out is not None else []
        if show_shapes:
            lines.append("output: " + ", ".join(str(t.shape) for t in tensors) if tensors else "output: ?")
        if show_dtype and tensors:
            lines.append("dtype: " + tensors[0].dtype.name)
    return lines


def _layout(n, edges):
    depth = [0] * n
    for _ in range(n):  # longest path from an input (the graph is a DAG, n rounds suffice)
        for a, b in edges:
            depth[b] = max(depth[b], depth[a] + 1)
    rows = {}
    for i, d in enumerate(depth):
        rows.setdefault(d, []).append(i)
    width = max(len(r) for r in rows.values()) * (BOX_W + GAP_X) + GAP_X
    positions = {}
    for d, members in rows.items():
        row_width = len(members) * (BOX_W + GAP_X) - GAP_X
        for k, i in enumerate(members):
            positions[i] = ((width - row_width) / 2 + k * (BOX_W + GAP_X), GAP_Y + d * (BOX_H + GAP_Y))
    height = GAP_Y + (max(depth) + 1) * (BOX_H + GAP_Y) if n else GAP_Y
    return positions, width, height


def to_svg(model, **options):
    """The layer graph as an SVG document (a string); `options` are `plot_model`'s `show_*` flags."""
    model_layers, edges = layer_graph(model)
    positions, width, height = _layout(len(model_layers), edges)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
             f'font-family="monospace" font-size="12">',
             '<defs><marker id="arrow" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto">'
             '<path d="M0,0 L10,4 L0,8 z" fill="#555"/></marker></defs>']
    for a, b in edges:
        (xa, ya), (xb, yb) = positions[a], positions[b]
        parts.append(f'<line x1="{xa + BOX_W / 2:.0f}" y1="{ya + BOX_H:.0f}" x2="{xb + BOX_W / 2:.0f}" '
                     f'y2="{yb:.0f}" stroke="#555" marker-end="url(#arrow)"/>')
    for i, layer in enumerate(model_layers):
        x, y = positions[i]
        parts.append(f'<rect x="{x:.0f}" y="{y:.0f}" width="{BOX_W}" height="{BOX_H}" rx="6" '
                     f'fill="#eef3fb" stroke="#345"/>')
        lines = _labels(layer, **options)
        for k, text in enumerate(lines):
            ty = y + BOX_H / 2 + (k - (len(lines) - 1) / 2) * 15 + 4
            parts.append(f'<text x="{x + BOX_W / 2:.0f}" y="{ty:.0f}" text-anchor="middle">{escape(text)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def to_dot(model, rankdir="TB", splines="ortho", **options):
    """The layer graph in Graphviz's DOT language (a string); `options` are `plot_model`'s `show_*` flags."""
    model_layers, edges = layer_graph(model)
    lines = [f'digraph "{model.name}" {{', f"  rankdir={rankdir};", f"  splines={splines};",
             '  node [shape=box, fontname="monospace"];']
    for i, layer in enumerate(model_layers):
        label = "\\n".join(_labels(layer, **options)).replace('"', "'")
        lines.append(f'  n{i} [label="{label}"];')
    lines.extend(f"  n{a} -> n{b};" for a, b in edges)
    lines.append("}")
    return "\n".join(lines)


def _to_png(model, path, dpi, **options):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    model_layers, edges = layer_graph(model)
    positions, width, height = _layout(len(model_layers), edges)
    figure = plt.figure(figsize=(width / 100, height / 100), dpi=dpi)
    axes = figure.add_axes([0, 0, 1, 1])
    axes.set_xlim(0, width)
    axes.set_ylim(height, 0)
    axes.axis("off")
    for a, b in edges:
        (xa, ya), (xb, yb) = positions[a], positions[b]
        axes.annotate("", xy=(xb + BOX_W / 2, yb), xytext=(xa + BOX_W / 2, ya + BOX_H),
                      arrowprops={"arrowstyle": "->", "color": "#555"})
    for i, layer in enumerate(model_layers):
        x, y = positions[i]
        axes.add_patch(FancyBboxPatch((x, y), BOX_W, BOX_H, boxstyle="round,pad=0,rounding_size=6",
                                      facecolor="#eef3fb", edgecolor="#345"))
        axes.text(x + BOX_W / 2, y + BOX_H / 2, "\n".join(_labels(layer, **options)), ha="center",
                  va="center", family="monospace", fontsize=8)
    figure.savefig(path, dpi=dpi)
    plt.close(figure)


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=False,
               rankdir="TB", expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False,
               splines="ortho"):
    """Draw the model's layer graph to `to_file`: .svg and .dot need nothing, .png needs
    matplotlib (the `plot` extra); without it a .dot file is written beside and a warning says so.
    `splines` shapes the edges Graphviz draws from a .dot file.

    Returns the path written.
    """
    warn_ignored("plot_model", "expand_nested", expand_nested, "a nested model is drawn as one box", default=False)
    options = {"show_shapes": show_shapes, "show_dtype": show_dtype, "show_layer_names": show_layer_names,
               "show_layer_activations": show_layer_activations, "show_trainable": show_trainable}
    extension = os.path.splitext(to_file)[1].lower()
    if extension == ".svg":
        content = to_svg(model, **options)
    elif extension in (".dot", ".gv"):
        content = to_dot(model, rankdir=rankdir, splines=splines, **options)
    elif extension == ".png":
        try:
            _to_png(model, to_file, dpi, **options)
            return to_file
        except ImportError:
            dot_file = os.path.splitext(to_file)[0] + ".dot"
            warnings.warn(
                f"plot_model: matplotlib is not installed (pip install 'nablanet[plot]'), so no PNG was "
                f"drawn; wrote the graph as DOT to {dot_file} instead (render it with Graphviz, or "
                "ask for an .svg file)", stacklevel=2)
            to_file, content = dot_file, to_dot(model, rankdir=rankdir, splines=splines, **options)
    else:
        raise ValueError(f"plot_model: to_file must end in .png, .svg or .dot, got {to_file!r}")
    with open(to_file, "w", encoding="utf-8") as handle:
        handle.write(content)
    return to_file
