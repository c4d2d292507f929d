"""Export: a model's inference pass as ONNX, for serving in other runtimes.

`model.export(path, format="onnx")` (Keras's method) and `export_onnx(model, path)` write the
same file. The `onnx` package is an optional extra (`pip install 'nablanet[onnx]'`), imported
only when a model is exported. A layer family without an ONNX form gets one with
`@converter(LayerClass)` (see `graph.py`); an op called on symbolic tensors in a functional graph,
with `@op_converter(name)` (see `ops.py`).

`models` must not import this package (it sits above them), so `Model.export` finds the
exporter in `Model.export_formats`, which this package fills when it is imported; the table
imports it when first read (`nablanet.models.EXPORTERS`). Importing it is cheap: the converters
of the built-in layers load at the first export.
"""

from nablanet.export.activations import ACTIVATIONS
from nablanet.export.graph import CONVERTERS, ExportError, GraphBuilder, Masked, Value, converter
from nablanet.export.onnx import export_onnx, to_onnx
from nablanet.models import Model

Model.export_formats["onnx"] = export_onnx

__all__ = ["ACTIVATIONS", "CONVERTERS", "ExportError", "GraphBuilder", "Masked", "Value", "converter",
           "export_onnx", "to_onnx"]
