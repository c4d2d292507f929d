"""The calculus tour: a derivative as a limit, the fundamental theorem, and three ways down
the Rosenbrock valley (gradient descent, Adam and Newton's method), each written out from
`grad` and `hessian` so that every update rule is on the page.
"""

import time

import numpy as np

from nablanet import derivative_table, elementwise_grad, grad, gradcheck, hessian, integrate, ops


def f(x):
    return ops.sin(x) * ops.exp(x)


def rosenbrock(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


def limit_section(out):
    x = 1.0
    exact = (np.sin(x) + np.cos(x)) * np.exp(x)
    autodiff = float(grad(f)(x))
    out(f"f(x) = sin(x) * exp(x) at x = {x}")
    out(f"  exact    f'(x) = (sin x + cos x) e^x = {exact:.16f}")
    out(f"  autodiff f'(x)                      = {autodiff:.16f}   (error {abs(autodiff - exact):.1e})")
    out("  the limit of the difference quotient as h -> 0 (absolute errors):")
    table = derivative_table(f, x, exact=exact, h=np.logspace(-1, -13, 7))
    for line in str(table).splitlines()[1:]:
        out("    " + line)
    out(f"  central differences are best near h = {table.best('central'):.0e}; below that, round-off "
        "in f(x+h) - f(x-h) wins.")


def theorem_section(out):
    def big_f(x):
        return x**3 - 2 * ops.cos(x)

    a, b = 0.0, 2.0
    area = integrate(elementwise_grad(big_f), a, b)
    exact = float(big_f(b) - big_f(a))
    out("F(x) = x^3 - 2 cos x, F' by autodiff, the integral by adaptive Gauss-Kronrod quadrature:")
    out(f"  integral of F' over [{a}, {b}] = {area.value:.15f}  (estimated error {area.error:.1e})")
    out(f"  F({b}) - F({a})               = {exact:.15f}  (difference {abs(area.value - exact):.1e})")


def descent_section(out, steps=3000):
    start = np.array([-1.5, 2.0])
    df, d2f = grad(rosenbrock), hessian(rosenbrock)
    check = gradcheck(rosenbrock, start)
    out("Rosenbrock f(x, y) = (1 - x)^2 + 100 (y - x^2)^2, minimum 0 at (1, 1), from (-1.5, 2).")
    out(f"  gradcheck at the start: passed={check.passed}, max rel error "
        f"{check.inputs[0].max_rel_error:.1e}")
    out(f"  Hessian at (1, 1): {d2f(np.ones(2)).tolist()}")

    gd, adam, newton = start.copy(), start.copy(), start.copy()
    m, v = np.zeros(2), np.zeros(2)  # Adam's moments (Keras's form: epsilon outside the sqrt)
    lr, beta_1, beta_2, epsilon = 0.02, 0.9, 0.999, 1e-7
    rows = []
    began = time.perf_counter()
    for t in range(1, steps + 1):
        gd -= 1.5e-3 * df(gd)  # gradient descent: w -= lr * grad
        g = df(adam)
        m += (1 - beta_1) * (g - m)
        v += (1 - beta_2) * (g * g - v)
        adam -= lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (np.sqrt(v) + epsilon)
        if t <= 20:
            newton -= np.linalg.solve(d2f(newton), df(newton))  # Newton: w -= H^-1 grad
        if t in (1, 10, 100, 1000, steps):
            rows.append((t, rosenbrock(gd), rosenbrock(adam), rosenbrock(newton)))
    elapsed = time.perf_counter() - began
    out(f"  {'step':>6}  {'gradient descent':>16}  {'Adam':>10}  {'Newton':>10}")
    for t, a, b, c in rows:
        out(f"  {t:>6}  {a:>16.3e}  {b:>10.3e}  {c:>10.3e}")
    out(f"  final points: GD {np.round(gd, 4).tolist()}, Adam {np.round(adam, 4).tolist()}, "
        f"Newton {np.round(newton, 6).tolist()}  ({elapsed:.2f} s)")


def run(out=print):
    """Run the calculus tour, writing each line through `out`."""
    sections = [
        ("1. The derivative is a limit", limit_section),
        ("2. The fundamental theorem of calculus", theorem_section),
        ("3. Descending a valley: gradient descent, Adam, Newton", descent_section),
    ]
    for title, section in sections:
        out("")
        out(title)
        section(out)
