"""The calculus toolkit: derivatives by autodiff and by their limit definition (integrals by
quadrature are in integrate.py, and importable from here too).

Transforms take JAX's names (`grad`, `value_and_grad`, `jacobian`, `hessian`, `vjp`, `argnums`,
`has_aux`) and mirror the input type: NumPy in, NumPy out; Tensor in, Tensor out. A transform
called while another one evaluates its function (nesting) keeps its backward sweep recorded, so
the outer one can differentiate the result: that is how `hessian` and `grad(grad(f))` work.
"""

from collections import namedtuple

import numpy as np

from nablanet.autodiff import ops
from nablanet.autodiff.engine import backprop
from nablanet.autodiff.primitive import enable_grad, in_transform, no_grad, transform_scope
from nablanet.autodiff.tensor import Tensor
from nablanet.integrate import Integral, IntegrationWarning, integrate  # noqa: F401 -- public here too

def _as_variable(arg, where):
    """The tensor to differentiate with respect to: always a fresh node, so that an enclosing
    transform's variable passed in stays distinct from this one (no perturbation confusion)."""
    if isinstance(arg, Tensor):
        if arg.requires_grad:
            with enable_grad():
                return ops.reshape(arg, arg.shape)  # an identity that keeps the outer link
        data = arg.data
    else:
        data = np.asarray(arg)
        if not isinstance(arg, np.ndarray) and not np.issubdtype(data.dtype, np.floating):
            data = data.astype(np.float64)  # Python numbers and lists: treat as float64
    if not np.issubdtype(data.dtype, np.floating):
        raise TypeError(
            f"{where}: can only differentiate with respect to floating-point inputs, got dtype "
            f"{data.dtype}. Convert it first, e.g. x.astype('float64')."
        )
    return Tensor(data, requires_grad=True)


def _positions(argnums, nargs, where):
    single = isinstance(argnums, (int, np.integer))
    positions = (argnums,) if single else tuple(argnums)
    for p in positions:
        if not isinstance(p, (int, np.integer)) or not -nargs <= p < nargs:
            raise ValueError(f"{where}: argnums {argnums!r} is out of range for {nargs} arguments")
    return tuple(int(p) % nargs for p in positions)


def _mirror(value, like, nested):
    """Return `value` in the type family of `like`: Tensor for Tensors or when nested."""
    if nested:
        return value if isinstance(value, Tensor) else Tensor._wrap(np.asarray(value))
    data = value.data if isinstance(value, Tensor) else np.asarray(value)
    if isinstance(like, Tensor):
        return Tensor._wrap(data)
    return data[()] if data.ndim == 0 else data  # a 0-d result reads as a NumPy scalar


class _Trace:
    """`f` evaluated at `args` with the `argnums` arguments replaced by variables."""

    def __init__(self, f, args, argnums, where):
        self.nested = in_transform()  # inside another transform: keep the graph
        self.single = isinstance(argnums, (int, np.integer))
        self.where = where
        positions = _positions(argnums, len(args), where)
        args = list(args)
        self.originals = [args[p] for p in positions]
        self.variables = [_as_variable(args[p], where) for p in positions]
        for p, v in zip(positions, self.variables):
            args[p] = v
        with transform_scope(), enable_grad():
            self.result = f(*args)

    def pull(self, out, v):
        """`v @ d(out)/d(variables)`, one result per variable, in the inputs' type family."""
        shape = np.shape(out.data if isinstance(out, Tensor) else out)
        seed = np.asarray(v.data if isinstance(v, Tensor) else v, dtype=_dtype(out))
        if seed.shape != shape:
            raise ValueError(
                f"{self.where}: the cotangent must have the output's shape {shape}, got {seed.shape}"
            )
        if isinstance(out, Tensor) and out.requires_grad:
            grads = backprop(out, self.variables, Tensor._wrap(seed) if self.nested else seed,
                             create_graph=self.nested)
        else:  # the output does not depend on the variables
            grads = [np.zeros_like(x.data) for x in self.variables]
        return [_mirror(g, o, self.nested) for g, o in zip(grads, self.originals)]

    def value(self, out):
        return _mirror(out, self.originals[0], self.nested)


def _dtype(out):
    return out.dtype if isinstance(out, Tensor) else np.result_type(out)


def _outputs(result):
    return (tuple(result), True) if isinstance(result, (tuple, list)) else ((result,), False)


def vjp(f, *args, argnums=0, has_aux=False):
    """Evaluate `f(*args)`; return `(out, pullback)` where `pullback(v) = v @ J_f`.

    `f` may return a tuple of arrays; `pullback` then takes a tuple of cotangents. With
    `has_aux=True`, `f` returns `(out, aux)` and this returns `(out, pullback, aux)`.

    >>> out, pullback = vjp(lambda x: x * x, np.array([1.0, 2.0]))
    >>> pullback(np.array([1.0, 1.0]))
    array([2., 4.])
    """
    trace = _Trace(f, args, argnums, "vjp")
    out, aux = trace.result if has_aux else (trace.result, None)
    outs, several = _outputs(out)

    def pullback(v):
        vs = tuple(v) if several else (v,)
        if len(vs) != len(outs):
            raise ValueError(f"vjp: expected {len(outs)} cotangents, got {len(vs)}")
        grads = [trace.pull(o, c) for o, c in zip(outs, vs)]
        total = [sum(g[i] for g in grads[1:]) + grads[0][i] for i in range(len(trace.variables))]
        return total[0] if trace.single else tuple(total)

    value = tuple(trace.value(o) for o in outs) if several else trace.value(out)
    return (value, pullback, aux) if has_aux else (value, pullback)


def value_and_grad(f, argnums=0, has_aux=False):
    """Return a function computing `(f(*args), grad(f)(*args))`; `((value, aux), grad)` with aux.

    >>> value_and_grad(lambda x: (x ** 2).sum())(np.array([3.0]))
    (9.0, array([6.]))
    """

    def value_and_grad_f(*args):
        trace = _Trace(f, args, argnums, "grad")
        out, aux = trace.result if has_aux else (trace.result, None)
        if isinstance(out, (tuple, list)) or np.size(out.data if isinstance(out, Tensor) else out) != 1:
            shape = "a tuple" if isinstance(out, (tuple, list)) else f"shape {np.shape(out)}"
            raise TypeError(
                f"grad: f must return a scalar, got {shape}; use jacobian for vector-valued functions"
            )
        grads = trace.pull(out, np.ones(np.shape(out.data if isinstance(out, Tensor) else out)))
        value = trace.value(out)
        if not isinstance(value, Tensor) and np.ndim(value) == 0:
            value = value.item()
        g = grads[0] if trace.single else tuple(grads)
        return ((value, aux) if has_aux else value), g

    return value_and_grad_f


def grad(f, argnums=0, has_aux=False):
    """Return a function that computes the gradient of scalar-valued `f`.

    >>> grad(lambda x: (x ** 3).sum())(np.array([1.0, 2.0]))
    array([ 3., 12.])
    >>> float(grad(lambda x: grad(lambda y: x * y * y)(2.0))(3.0))  # closes over x
    4.0
    """

    def grad_f(*args):
        result, g = value_and_grad(f, argnums, has_aux)(*args)
        return (g, result[1]) if has_aux else g

    return grad_f


def elementwise_grad(f):
    """Return the derivative of an elementwise `f` at every point of an array (HIPS's name).

    It is the gradient of `sum(f(x))`, which equals `f'(x)` elementwise when `f` acts
    elementwise.

    >>> elementwise_grad(lambda x: x ** 2)(np.array([1.0, 2.0, 3.0]))
    array([2., 4., 6.])
    """
    return grad(lambda x: ops.sum(f(x)))


def jacobian(f, argnums=0):
    """Return a function computing the Jacobian of `f`, shaped `out.shape + x.shape`.

    Reverse mode: one pullback per output element, all through one recorded graph. With a
    tuple `argnums` the result is a tuple over the arguments; when `f` returns a tuple, a
    tuple over its outputs (of tuples over the arguments), as in JAX.

    >>> jacobian(lambda x: x ** 2)(np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """

    def jacobian_f(*args):
        trace = _Trace(f, args, argnums, "jacobian")
        outs, several = _outputs(trace.result)
        per_output = []
        for out in outs:
            shape = np.shape(out.data if isinstance(out, Tensor) else out)
            rows = [trace.pull(out, e.reshape(shape)) for e in np.eye(int(np.prod(shape)))]
            blocks = tuple(_stack_rows([r[i] for r in rows], shape) for i in range(len(trace.variables)))
            per_output.append(blocks[0] if trace.single else blocks)
        return tuple(per_output) if several else per_output[0]

    return jacobian_f


def _stack_rows(rows, out_shape):
    row_shape = np.shape(rows[0])
    if isinstance(rows[0], Tensor):
        return ops.reshape(ops.stack(rows), out_shape + row_shape)
    return np.stack([np.asarray(r) for r in rows]).reshape(out_shape + row_shape)


def hessian(f, argnums=0):
    """Return a function computing the Hessian of scalar-valued `f` (reverse over reverse).

    >>> hessian(lambda x: (x[0] ** 2) * x[1])(np.array([1.0, 3.0]))
    array([[6., 2.],
           [2., 0.]])
    """
    return jacobian(grad(f, argnums), argnums)


def hvp(f, x, v):
    """Return the Hessian-vector product `H(x) @ v` without forming `H` (one extra sweep).

    >>> hvp(lambda x: (x ** 3).sum(), np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    array([ 6., 12.])
    """
    v = np.asarray(v.data if isinstance(v, Tensor) else v)
    return grad(lambda y: ops.sum(grad(f)(y) * v))(x)


# -- derivatives from the limit definition ----------------------------------------------------

_EPS = np.finfo(np.float64).eps
_STEP_POWER = {"forward": 1 / 2, "backward": 1 / 2, "central": 1 / 3, "richardson": 1 / 5}


def _evaluate(f, x):
    with no_grad():
        y = f(x)
    return np.asarray(y.data if isinstance(y, Tensor) else y, dtype=np.float64)


def derivative(f, x, h=None, method="central"):
    """Estimate `f'(x)` numerically, straight from the limit definition of the derivative.

    Args:
        f: A function of one variable; with array `x` it must act elementwise.
        x: The point (a number or an array of points).
        h: The step. By default the step that balances truncation against round-off error
            for the method: `eps ** p * max(1, |x|)` with p = 1/2, 1/3 and 1/5 for forward
            (and backward), central and Richardson differences.
        method: "forward" `(f(x+h) - f(x)) / h`, error O(h); "backward"
            `(f(x) - f(x-h)) / h`, O(h); "central" `(f(x+h) - f(x-h)) / 2h`, O(h^2);
            "richardson", which combines central differences at h and h/2 as
            `(4 D(h/2) - D(h)) / 3` to cancel the h^2 term, O(h^4).

    Returns:
        The estimate: a float for a scalar `x`, else an array.

    >>> round(derivative(np.sin, 0.0), 10)
    1.0
    """
    if method not in _STEP_POWER:
        raise ValueError(f"derivative: method must be one of {sorted(_STEP_POWER)}, got {method!r}")
    x = np.asarray(x.data if isinstance(x, Tensor) else x, dtype=np.float64)
    if h is None:
        h = _EPS ** _STEP_POWER[method] * np.maximum(1.0, np.abs(x))
    requested = np.asarray(h, dtype=np.float64)
    if np.any(requested <= 0):
        raise ValueError(f"derivative: the step h must be positive, got {requested}")
    h = (x + requested) - x  # a step that x + h represents exactly
    if np.any(h == 0):
        raise ValueError(
            f"derivative: the step h={requested} is too small to change x={x} in float64 (the "
            f"spacing of floats there is {np.spacing(np.max(np.abs(x)))}); use a larger h"
        )
    if method == "forward":
        d = (_evaluate(f, x + h) - _evaluate(f, x)) / h
    elif method == "backward":
        d = (_evaluate(f, x) - _evaluate(f, x - h)) / h
    elif method == "central":
        d = (_evaluate(f, x + h) - _evaluate(f, x - h)) / (2 * h)
    else:
        d = (4 * derivative(f, x, h / 2) - derivative(f, x, h)) / 3
    return float(d) if np.ndim(d) == 0 else d


class DerivativeTable(namedtuple("DerivativeTable", "x h estimates errors exact")):
    """Estimates of `f'(x)` for a shrinking step `h`, with their errors against `exact`.

    `estimates[method]` and `errors[method]` are arrays aligned with `h`. Printing the table
    shows the limit converging, then round-off taking over as `h` gets too small.
    """

    def best(self, method):
        """The step with the smallest error for `method`."""
        return float(self.h[int(np.nanargmin(self.errors[method]))])

    def __str__(self):
        methods = list(self.estimates)
        lines = [f"f'({self.x:g}) = {self.exact!r} (reference)"]
        lines.append(f"{'h':>8}" + "".join(f"{m + ' error':>20}" for m in methods))
        for i, h in enumerate(self.h):
            lines.append(f"{h:>8.0e}" + "".join(f"{self.errors[m][i]:>20.3e}" for m in methods))
        return "\n".join(lines)


def derivative_table(f, x, exact=None, h=None, methods=("forward", "central", "richardson")):
    """Show the limit `h -> 0` converging: estimates and errors of `f'(x)` for many steps.

    Args:
        f: A scalar function of one variable.
        x: The point.
        exact: The true derivative; by default the autodiff value `grad(f)(x)`.
        h: The steps to try; by default 10^-1 down to 10^-13, times max(1, |x|).
        methods: Which difference quotients to tabulate (see `derivative`).

    Returns:
        A `DerivativeTable`.

    >>> table = derivative_table(np.exp, 0.0, exact=1.0)
    >>> table.best("central") > table.best("forward")  # central allows (and wants) a bigger h
    True
    """
    x = float(x)
    steps = np.logspace(-1, -13, 13) * max(1.0, abs(x)) if h is None else np.asarray(h, dtype=np.float64)
    if exact is None:
        exact = float(grad(f)(x))
    estimates = {m: np.array([derivative(f, x, s, m) for s in steps]) for m in methods}
    errors = {m: np.abs(e - exact) for m, e in estimates.items()}
    return DerivativeTable(x, steps, estimates, errors, exact)


# -- gradient checking ------------------------------------------------------------------------

class GradcheckError(AssertionError):
    """Autodiff and finite differences disagree beyond the tolerance."""


InputCheck = namedtuple("InputCheck", "index max_abs_error max_rel_error passed")
GradcheckResult = namedtuple("GradcheckResult", "passed inputs")


def gradcheck(f, *inputs, eps=1e-6, atol=1e-8, rtol=1e-6, raise_exception=True, seed=0,
              max_full=256):
    """Check autodiff gradients of `f` against central differences, in float64.

    Every input is converted to float64. For a non-scalar `f`, the whole Jacobian is compared
    when it has at most `max_full` rows and columns on each side; beyond that, random projections
    `<v, J u>` are compared instead (PyTorch's fast mode, HIPS's `check_vjp`).

    Args:
        f: A function of one or more arrays, built from nablanet ops.
        *inputs: The point to check at.
        eps: The finite-difference step.
        atol, rtol: An element passes when `|autodiff - numeric| <= atol + rtol * |numeric|`.
        raise_exception: Raise `GradcheckError` on failure instead of returning the result.
        seed: Seed for the random projections.

    Returns:
        A `GradcheckResult(passed, inputs)`, with one `InputCheck` per input giving the worst
        absolute and relative error.

    >>> gradcheck(lambda x, y: (x * ops.sin(y)).sum(), np.ones(3), np.arange(3.0)).passed
    True
    """
    rng = np.random.default_rng(seed)
    xs = [np.array(x.data if isinstance(x, Tensor) else x, dtype=np.float64) for x in inputs]
    argnums = tuple(range(len(xs)))

    def numeric(i, direction):  # the central difference of f along `direction` in input i
        plus = [x + eps * direction if j == i else x for j, x in enumerate(xs)]
        minus = [x - eps * direction if j == i else x for j, x in enumerate(xs)]
        return (_call(f, plus) - _call(f, minus)) / (2 * eps)

    out, pullback = vjp(lambda *ts: f(*ts), *xs, argnums=argnums)
    out_size = int(np.size(out))
    full_rows = out_size <= max_full
    projections = np.eye(out_size) if full_rows else rng.standard_normal((3, out_size))
    analytic = [pullback(v.reshape(np.shape(out))) for v in projections]  # each a tuple per input
    checks = []
    for i, x in enumerate(xs):
        if x.size <= max_full:
            directions = np.eye(x.size)
        else:
            directions = rng.standard_normal((3, x.size))
        got = np.array([[np.vdot(a[i], u) for u in directions] for a in analytic])
        columns = np.array([numeric(i, u.reshape(x.shape)).ravel() for u in directions]).T
        want = projections @ columns
        abs_err = np.abs(got - want)
        rel_err = abs_err / np.maximum(np.abs(want), np.finfo(np.float64).tiny)
        passed = bool(np.all(abs_err <= atol + rtol * np.abs(want)))
        checks.append(InputCheck(i, float(abs_err.max(initial=0)), float(rel_err.max(initial=0)), passed))
    result = GradcheckResult(all(c.passed for c in checks), checks)
    if raise_exception and not result.passed:
        lines = [
            f"  input {c.index}: max abs error {c.max_abs_error:.3e}, max rel error "
            f"{c.max_rel_error:.3e}{'' if c.passed else '  <- FAILED'}"
            for c in checks
        ]
        raise GradcheckError(
            f"gradcheck: autodiff and central differences (eps={eps}) disagree beyond "
            f"atol={atol}, rtol={rtol}:\n" + "\n".join(lines)
        )
    return result


def _call(f, arrays):
    with no_grad():
        out = f(*[Tensor(a) for a in arrays])
    return np.asarray(out.data if isinstance(out, Tensor) else out, dtype=np.float64)
