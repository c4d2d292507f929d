"""The calculus toolkit: transforms, limit-definition derivatives, gradcheck, integrals."""

import math
import warnings

import numpy as np
import pytest

from nablanet import (
    Tensor, derivative, derivative_table, elementwise_grad, grad, gradcheck, hessian, hvp,
    integrate, jacobian, ops, value_and_grad, vjp,
)
from nablanet.calculus import GradcheckError, IntegrationWarning


def rosenbrock(x):
    return ops.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosenbrock_hessian(x):
    n = len(x)
    h = np.zeros((n, n))
    for i in range(n - 1):
        h[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        h[i + 1, i + 1] += 200
        h[i, i + 1] = h[i + 1, i] = -400 * x[i]
    return h


def test_hessian_of_rosenbrock_is_the_analytic_matrix(rng):
    x = rng.uniform(-2, 2, 5)
    np.testing.assert_allclose(hessian(rosenbrock)(x), rosenbrock_hessian(x), rtol=1e-12, atol=1e-10)


def test_hessian_of_a_quadratic_form_is_a_plus_a_transpose(rng):
    a, b = rng.standard_normal((4, 4)), rng.standard_normal(4)
    f = lambda x: x @ (a @ x) + b @ x  # noqa: E731
    np.testing.assert_allclose(hessian(f)(rng.standard_normal(4)), a + a.T, rtol=1e-12, atol=1e-12)


def test_jacobian_of_a_vector_function_is_analytic():
    f = lambda x: ops.stack([x[0] * x[1], ops.sin(x[0]) + x[2] ** 2, ops.exp(x[1])])  # noqa: E731
    x = np.array([0.3, -1.2, 2.0])
    expected = np.array([
        [x[1], x[0], 0],
        [np.cos(x[0]), 0, 2 * x[2]],
        [0, np.exp(x[1]), 0],
    ])
    np.testing.assert_allclose(jacobian(f)(x), expected, rtol=1e-14)


def test_jacobian_shape_is_output_shape_then_input_shape(rng):
    w = rng.standard_normal((2, 3))
    assert jacobian(lambda x: ops.tanh(w @ x))(rng.standard_normal((3, 4))).shape == (2, 4, 3, 4)


def test_jacobian_with_several_argnums(rng):
    x, y = rng.standard_normal(3), rng.standard_normal(3)
    jx, jy = jacobian(lambda a, b: a * b, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(jx, np.diag(y))
    np.testing.assert_allclose(jy, np.diag(x))


def test_grad_argnums_and_has_aux():
    f = lambda x, y: (x * y * y, "aux")  # noqa: E731
    (gx, gy), aux = grad(f, argnums=(0, 1), has_aux=True)(2.0, 3.0)
    assert (float(gx), float(gy), aux) == (9.0, 12.0, "aux")
    (value, aux), g = value_and_grad(f, has_aux=True)(2.0, 3.0)
    assert value == 18.0 and float(g) == 9.0


def test_nested_closure_over_the_outer_variable():
    assert float(grad(lambda x: grad(lambda y: x * y * y)(2.0))(3.0)) == 4.0


def test_third_derivative():
    d3 = grad(grad(grad(lambda x: x**4 + ops.sin(x))))
    x = 0.7
    assert float(d3(x)) == pytest.approx(24 * x - np.cos(x), rel=1e-12)


def test_hvp_matches_hessian_times_vector(rng):
    x, v = rng.uniform(-1, 1, 4), rng.standard_normal(4)
    np.testing.assert_allclose(hvp(rosenbrock, x, v), rosenbrock_hessian(x) @ v, rtol=1e-12)


def test_return_types_mirror_the_input():
    f = lambda x: (x * x).sum()  # noqa: E731
    assert type(grad(f)(np.array([1.0, 2.0]))) is np.ndarray
    g = grad(f)(Tensor([1.0, 2.0]))
    assert isinstance(g, Tensor) and not g.requires_grad
    assert isinstance(grad(lambda x: x * x)(3.0), np.floating)


def test_top_level_grad_leaves_no_graph_and_no_grad_attribute():
    x = Tensor([1.0, 2.0], requires_grad=True)
    g = grad(lambda t: (t * t).sum())(x)
    assert g.node is None and x.grad is None


def test_grad_inside_no_grad_still_differentiates():
    from nablanet import no_grad

    with no_grad():
        assert float(grad(lambda x: x**2)(3.0)) == 6.0


def test_grad_of_a_vector_output_is_refused():
    with pytest.raises(TypeError, match=r"grad: f must return a scalar, got shape \(2,\); use jacobian"):
        grad(lambda x: x * 2)(np.ones(2))


def test_grad_of_an_integer_array_is_refused():
    with pytest.raises(TypeError, match="floating-point inputs, got dtype int64"):
        grad(lambda x: (x * x).sum())(np.arange(3))


def test_grad_of_a_python_int_is_taken_as_float():
    assert float(grad(lambda x: x**2)(3)) == 6.0


def test_grad_of_a_function_not_depending_on_x_is_zero():
    np.testing.assert_array_equal(grad(lambda x: 5.0)(np.ones(3)), np.zeros(3))


def test_vjp_pullback_checks_the_cotangent_shape():
    _, pullback = vjp(lambda x: x * 2, np.ones(3))
    with pytest.raises(ValueError, match=r"output's shape \(3,\), got \(2,\)"):
        pullback(np.ones(2))


# -- derivative from the limit definition -----------------------------------------------------

def test_derivative_methods_agree_with_the_exact_value():
    x, exact = 0.8, np.cos(0.8)
    assert derivative(np.sin, x, method="forward") == pytest.approx(exact, abs=1e-7)
    assert derivative(np.sin, x, method="backward") == pytest.approx(exact, abs=1e-7)
    assert derivative(np.sin, x) == pytest.approx(exact, abs=1e-10)
    assert derivative(np.sin, x, method="richardson") == pytest.approx(exact, abs=1e-12)


def test_derivative_is_elementwise_over_arrays():
    x = np.linspace(-1, 1, 5)
    np.testing.assert_allclose(derivative(np.exp, x), np.exp(x), rtol=1e-9)


def test_error_shrinks_with_h_until_round_off():
    table = derivative_table(np.exp, 1.0, exact=np.e, methods=("forward", "central"))
    forward, central = table.errors["forward"], table.errors["central"]
    # truncation regime (h from 1e-1 to 1e-4): each tenfold smaller h cuts the error about
    # tenfold (forward, O(h)) and about a hundredfold (central, O(h^2))
    assert np.all(np.diff(np.log10(forward[:4])) < -0.9)
    assert np.all(np.diff(np.log10(central[:4])) < -1.9)
    # round-off regime: at h = 1e-13 both are far worse than at their best step
    assert forward[-1] > 100 * forward.min() and central[-1] > 1000 * central.min()
    # central beats forward at every step in the truncation regime, and at its best
    assert np.all(central[:6] < forward[:6]) and central.min() < forward.min() / 100
    assert 1e-7 < table.best("central") < 1e-3 and table.best("forward") < table.best("central")


def test_derivative_table_defaults_to_autodiff_reference():
    table = derivative_table(lambda x: x**3, 2.0)
    assert table.exact == 12.0
    assert "central error" in str(table)


def test_derivative_rejects_bad_arguments():
    with pytest.raises(ValueError, match="method must be one of"):
        derivative(np.sin, 1.0, method="sideways")
    with pytest.raises(ValueError, match="step h must be positive"):
        derivative(np.sin, 1.0, h=0.0)


# -- gradcheck --------------------------------------------------------------------------------

def test_gradcheck_catches_a_wrong_rule():
    from nablanet.autodiff import REGISTRY, primitive

    wrong = primitive("test_wrong_sin", np.sin, lambda g, out, x: (g * ops.sin(x),))
    try:
        with pytest.raises(GradcheckError, match=r"input 0: max abs error .* <- FAILED"):
            gradcheck(wrong, np.array([0.1, 0.5, 1.0]))
        result = gradcheck(wrong, np.array([0.3]), raise_exception=False)
        assert not result.passed and result.inputs[0].max_abs_error > 0.5
    finally:
        del REGISTRY["test_wrong_sin"]


def test_gradcheck_projection_mode_on_large_inputs(rng):
    w = rng.standard_normal((300, 300))
    result = gradcheck(lambda x: ops.tanh(x @ w), rng.standard_normal((2, 300)) * 0.1)
    assert result.passed and len(result.inputs) == 1


# -- integrals --------------------------------------------------------------------------------

@pytest.mark.parametrize("degree", range(0, 12))
def test_polynomials_are_exact(degree):
    value = integrate(lambda x: x**degree, -1.0, 2.0).value
    exact = (2.0 ** (degree + 1) - (-1.0) ** (degree + 1)) / (degree + 1)
    assert value == pytest.approx(exact, rel=1e-12, abs=1e-12)


def test_integrate_has_one_implementation_reachable_from_each_public_name():
    import sys

    import nablanet
    from nablanet import calculus

    module = sys.modules["nablanet.integrate"]
    assert nablanet.integrate is calculus.integrate is module.integrate
    assert calculus.IntegrationWarning is module.IntegrationWarning and calculus.Integral is module.Integral


def test_kronrod_rule_alone_integrates_degree_22_exactly():
    from nablanet.integrate import _NODES, _WG, _WK

    for k in range(23):
        exact = 2 / (k + 1) if k % 2 == 0 else 0.0
        assert np.dot(_WK, _NODES**k) == pytest.approx(exact, abs=1e-14)
        if k < 14:  # the embedded 7-point Gauss rule: degree 13
            assert np.dot(_WG, _NODES**k) == pytest.approx(exact, abs=1e-14)


def test_classic_integrals_to_1e_10():
    assert integrate(np.sin, 0, np.pi).value == pytest.approx(2.0, abs=1e-10)
    assert integrate(np.exp, 0, 1).value == pytest.approx(np.e - 1, abs=1e-10)
    assert integrate(np.exp, -3, 2).value == pytest.approx(np.exp(2) - np.exp(-3), abs=1e-10)
    gauss = integrate(lambda x: np.exp(-x * x), -np.inf, np.inf)
    assert gauss.value == pytest.approx(np.sqrt(np.pi), abs=1e-10) and gauss.error < 1e-9
    half = integrate(lambda x: np.exp(-x * x / 2) / np.sqrt(2 * np.pi), 0, np.inf).value
    assert half == pytest.approx(0.5, abs=1e-10)
    assert integrate(lambda x: np.exp(x), -np.inf, 0).value == pytest.approx(1.0, abs=1e-10)


def test_reversed_bounds_flip_the_sign_and_empty_interval_is_zero():
    assert integrate(np.cos, 1.0, 0.0).value == pytest.approx(-np.sin(1.0), abs=1e-12)
    assert integrate(np.cos, 1.0, 1.0) == (0.0, 0.0)


def test_scalar_only_and_constant_integrands():
    assert integrate(math.sin, 0, math.pi).value == pytest.approx(2.0, abs=1e-10)
    assert integrate(lambda x: 3.0, 0, 2).value == pytest.approx(6.0)


def test_the_error_estimate_bounds_the_true_error():
    result = integrate(lambda x: np.sqrt(x), 0, 1, epsabs=1e-6, epsrel=1e-6)
    assert abs(result.value - 2 / 3) <= result.error


def test_a_singular_integrand_warns():
    with pytest.warns(IntegrationWarning, match="error estimate"):
        integrate(lambda x: 1 / np.sqrt(np.abs(x - 0.3)) + np.sin(1 / (x + 1e-3)), 0, 1, limit=20)


def test_fundamental_theorem_of_calculus():
    F = lambda x: ops.exp(ops.sin(x)) * x**2  # noqa: E731
    a, b = -0.5, 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        area = integrate(elementwise_grad(F), a, b).value
    assert area == pytest.approx(float(F(np.float64(b)) - F(np.float64(a))), abs=1e-12)  # Python floats: float32


# -- found in review: each of these once gave a wrong answer ----------------------------------

def test_nested_transforms_keep_inner_and_outer_variables_apart():
    # d/dx [ d/dy (x * y) at y = x ] = d/dx x = 1 (perturbation confusion gave 2)
    assert float(grad(lambda x: grad(lambda y: x * y)(x))(3.0)) == 1.0
    x = Tensor(3.0, requires_grad=True)
    assert float(grad(lambda y: x * y)(x)) == 3.0


def test_hessian_with_several_arguments_and_jacobian_of_a_tuple():
    a, b = np.array([1.0, 2.0]), np.array([3.0])
    f = lambda x, y: ops.sum(x * x) * y[0] ** 2  # noqa: E731
    (h_aa, h_ab), (h_ba, h_bb) = hessian(f, argnums=(0, 1))(a, b)
    np.testing.assert_allclose(h_aa, 2 * 9.0 * np.eye(2))
    np.testing.assert_allclose(h_ab, (4 * 3.0 * a)[:, None])
    np.testing.assert_allclose(h_ba, (4 * 3.0 * a)[None, :])
    np.testing.assert_allclose(h_bb, [[2 * 5.0]])
    j1, j2 = jacobian(lambda x: (x, 2 * x))(a)
    np.testing.assert_allclose(j1, np.eye(2))
    np.testing.assert_allclose(j2, 2 * np.eye(2))


def test_float_of_a_differentiated_tensor_is_refused():
    with pytest.raises(TypeError, match=r"float\(\) of a tensor being differentiated"):
        grad(lambda x: math.exp(x))(1.0)
    assert float(Tensor(2.0, requires_grad=True)) == 2.0  # outside transforms it is allowed


def test_derivative_steps_too_small_for_x_are_refused_clearly():
    with pytest.raises(ValueError, match=r"too small to change x=100000000.0 in float64"):
        derivative(np.sin, 1e8, h=1e-10)
    table = derivative_table(np.sin, 2000.0, exact=np.cos(2000.0))  # default steps scale with x
    assert np.all(np.isfinite(table.errors["central"])) and table.errors["central"].min() < 1e-8


def test_integrate_evaluates_reductions_point_by_point():
    assert integrate(lambda x: np.linalg.norm(x), -1, 1).value == pytest.approx(1.0, abs=1e-10)
    assert integrate(lambda x: np.sum(x**2), 0, 1).value == pytest.approx(1 / 3, abs=1e-10)


def test_argnums_may_be_a_numpy_integer():
    assert float(grad(lambda x, y: x * y, argnums=np.int64(1))(2.0, 3.0)) == 2.0
