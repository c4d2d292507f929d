"""`keras.ops.linalg`: decompositions, solves, inverses and norms, each differentiable."""

__all__ = []
