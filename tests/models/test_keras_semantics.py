"""Keras 3's model contract, side by side: the same small programs run on Keras (torch backend) and
on nablanet from the same initial weights, and what users see must agree -- `History.history` keys
and values (float32 tolerance), what each overridable hook receives (`train_step`, `test_step`,
`predict_step`, `compute_loss`, `compute_metrics`, callbacks' hooks) and printed summaries."""

import inspect

import numpy as np
import pytest

import nablanet
from nablanet.autodiff.tensor import Tensor

K = pytest.importorskip("keras")

TOL = {"rtol": 2e-5, "atol": 2e-6}  # float32 rounding, accumulated over a few steps


def to_numpy(value):
    if isinstance(value, Tensor):
        return np.asarray(value.data)
    return np.asarray(K.ops.convert_to_numpy(value))


def real_calls(calls):
    """The calls made with data: Keras also traces `compute_loss` and `compute_metrics` once with
    symbolic tensors to build the compiled metrics, which nablanet builds from shapes instead."""
    return [call for call in calls if "symbolic" not in str(call)]


def describe(value):
    """A structure of arrays as kinds and shapes, framework-neutral: 'tuple(array(4, 3), None)'."""
    if isinstance(value, (tuple, list)):
        return f"{type(value).__name__}({', '.join(describe(v) for v in value)})"
    if isinstance(value, dict):
        return "dict(" + ", ".join(f"{k}={describe(v)}" for k, v in sorted(value.items())) + ")"
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    if isinstance(value, K.KerasTensor) or str(getattr(value, "device", "")) == "meta":
        return "symbolic"  # Keras on torch traces shapes with tensors on the "meta" device
    return f"array{tuple(value.shape)}"


def dense_net(lib, units=(8, 3), inputs=5, name=None, **dense_kwargs):
    return lib.Sequential([lib.Input(shape=(inputs,))] + [lib.layers.Dense(u, **dense_kwargs) for u in units],
                          name=name)


def copy_weights(source, target):
    target.set_weights([to_numpy(w) for w in source.weights])


def data(n=24, inputs=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, inputs)).astype(np.float32), rng.integers(0, classes, n)


def assert_same_history(ours, theirs):
    assert list(ours) == list(theirs)
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], **TOL, err_msg=key)


# -- compute_loss ------------------------------------------------------------------------------

def hooked_model(lib, calls, loss_signature):
    """A Sequential subclass whose compute_loss (with or without `training`) records its arguments
    and adds a term of its own to the compiled loss."""

    class WithTraining(lib.Sequential):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            calls.append(("compute_loss", describe((x, y, y_pred, sample_weight)), training))
            return super().compute_loss(x, y, y_pred, sample_weight, training=training) + 0.5

    class WithoutTraining(lib.Sequential):  # written for Keras before 3.3: no `training`
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None):
            calls.append(("compute_loss", describe((x, y, y_pred, sample_weight)), "absent"))
            return super().compute_loss(x, y, y_pred, sample_weight) + 0.5

    cls = WithTraining if loss_signature == "training" else WithoutTraining
    return cls([lib.Input(shape=(5,)), lib.layers.Dense(4, activation="relu"), lib.layers.Dense(3)])


@pytest.mark.parametrize("loss_signature", ["training", "no training"])
def test_overridden_compute_loss_gets_what_keras_passes_and_its_value_is_logged(loss_signature):
    x, y = data()
    results, calls = {}, {K: [], nablanet: []}
    models = {lib: hooked_model(lib, calls[lib], loss_signature) for lib in (K, nablanet)}
    copy_weights(models[K], models[nablanet])
    for lib, model in models.items():
        model.compile(optimizer=lib.optimizers.SGD(0.1), metrics=["accuracy"],
                      loss=lib.losses.SparseCategoricalCrossentropy(from_logits=True))
        history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, validation_data=(x, y)).history
        evaluated = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
        results[lib] = (history, evaluated, model, real_calls(calls[lib]))
    (h_ours, e_ours, _, c_ours), (h_theirs, e_theirs, _, c_theirs) = results[nablanet], results[K]
    assert_same_history(h_ours, h_theirs)
    assert sorted(e_ours) == sorted(e_theirs)
    for key in e_theirs:
        np.testing.assert_allclose(e_ours[key], e_theirs[key], **TOL, err_msg=key)
    assert c_ours == c_theirs
    assert {training for _, _, training in c_ours} == ({True, False} if loss_signature == "training" else {"absent"})


def test_compute_loss_without_super_trains_with_compiled_metrics_and_logs_its_own_mean():
    x, y = data()

    def build(lib):
        ops = lib.ops

        class OwnLoss(lib.Sequential):
            def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
                one_hot = ops.one_hot(ops.cast(y, "int32"), 3)
                return ops.mean((ops.softmax(y_pred) - one_hot) ** 2) + sum(self.losses)

        return OwnLoss([lib.Input(shape=(5,)),
                        lib.layers.Dense(4, activation="tanh", kernel_regularizer=lib.regularizers.L2(0.01)),
                        lib.layers.Dense(3)])

    models = {lib: build(lib) for lib in (K, nablanet)}
    copy_weights(models[K], models[nablanet])
    histories = {}
    for lib, model in models.items():
        model.compile(optimizer=lib.optimizers.Adam(0.01), metrics=["accuracy"])
        histories[lib] = model.fit(x, y, batch_size=7, epochs=3, shuffle=False, verbose=0).history
    assert list(histories[nablanet]) == ["accuracy", "loss"]
    assert_same_history(histories[nablanet], histories[K])


# -- knowledge distillation ----------------------------------------------------------------------

def distiller(lib, student, teacher):
    """A student trained on a teacher's temperature-softened outputs plus the labels."""
    ops = lib.ops

    class Distiller(lib.Model):
        def __init__(self, student, teacher):
            super().__init__()
            self.teacher, self.student = teacher, student

        def compile(self, optimizer, metrics, student_loss_fn, distillation_loss_fn, alpha, temperature):
            super().compile(optimizer=optimizer, metrics=metrics)
            self.student_loss_fn, self.distillation_loss_fn = student_loss_fn, distillation_loss_fn
            self.alpha, self.temperature = alpha, temperature

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, allow_empty=False):
            teacher_pred = self.teacher(x, training=False)
            hard = self.student_loss_fn(y, y_pred)
            soft = self.distillation_loss_fn(ops.softmax(teacher_pred / self.temperature, axis=1),
                                             ops.softmax(y_pred / self.temperature, axis=1))
            return self.alpha * hard + (1 - self.alpha) * soft * self.temperature ** 2

        def call(self, x):
            return self.student(x)

    return Distiller(student, teacher)


def test_distillation_logs_and_trains_as_in_keras():
    x, y = data(n=64, inputs=6, classes=4, seed=1)
    results, nets = {}, {}
    for lib in (K, nablanet):
        nets[lib] = (dense_net(lib, (16, 4), inputs=6, name="teacher", activation=None),
                     dense_net(lib, (8, 4), inputs=6, name="student", activation=None))
    copy_weights(nets[K][0], nets[nablanet][0])
    copy_weights(nets[K][1], nets[nablanet][1])
    for lib in (K, nablanet):
        teacher, student = nets[lib]
        model = distiller(lib, student, teacher)
        model.compile(optimizer=lib.optimizers.Adam(0.01), metrics=[lib.metrics.SparseCategoricalAccuracy()],
                      student_loss_fn=lib.losses.SparseCategoricalCrossentropy(from_logits=True),
                      distillation_loss_fn=lib.losses.KLDivergence(), alpha=0.1, temperature=5)
        history = model.fit(x, y, batch_size=16, epochs=4, shuffle=False, verbose=0).history
        evaluated = model.evaluate(x, y, batch_size=16, verbose=0)  # no `training` in the override
        results[lib] = (history, teacher, student, evaluated)
    assert_same_history(results[nablanet][0], results[K][0])
    np.testing.assert_allclose(results[nablanet][3], results[K][3], **TOL)
    # the distillation term reaches the teacher through its outputs, so Keras trains it too
    for ours, theirs in zip(results[nablanet][1].get_weights(), results[K][1].get_weights()):
        np.testing.assert_allclose(ours, to_numpy(theirs), **TOL)


# -- the steps' arguments ------------------------------------------------------------------------

def recording_model(lib, calls):
    class Recording(lib.Sequential):
        def train_step(self, data):
            calls.append(("train_step", describe(data)))
            return super().train_step(data)

        def test_step(self, data):
            calls.append(("test_step", describe(data)))
            return super().test_step(data)

        def predict_step(self, data):
            calls.append(("predict_step", describe(data)))
            return super().predict_step(data)

        def compute_metrics(self, x, y, y_pred, sample_weight=None):
            calls.append(("compute_metrics", describe((x, y, y_pred, sample_weight))))
            return super().compute_metrics(x, y, y_pred, sample_weight)

    return Recording([lib.Input(shape=(5,)), lib.layers.Dense(3)])


def test_steps_receive_the_data_as_keras_packs_it():
    x, y = data(n=8)
    y = y.astype(np.float32)[:, None]
    weights = np.linspace(0.5, 1.5, 8).astype(np.float32)
    seen = {}
    for lib in (K, nablanet):
        calls = seen[lib] = []
        model = recording_model(lib, calls)
        model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        for kwargs in ({"y": y}, {"y": y, "sample_weight": weights}):
            model.fit(x, batch_size=4, epochs=1, verbose=0, **kwargs)
            model.evaluate(x, batch_size=4, verbose=0, **kwargs)
        model.predict(x, batch_size=4, verbose=0)
    assert seen[nablanet] == real_calls(seen[K])
    assert ("train_step", "tuple(array(4, 5), array(4, 1))") in seen[nablanet]
    assert ("predict_step", "array(4, 5)") in seen[nablanet]


def two_input_model(lib, calls):
    a, b = lib.Input((3,), name="a"), lib.Input((2,), name="b")

    class TwoInputs(lib.Model):
        def train_step(self, data):
            calls.append(("train_step", describe(data)))
            return super().train_step(data)

        def predict_step(self, data):
            calls.append(("predict_step", describe(data)))
            return super().predict_step(data)

    return TwoInputs([a, b], lib.layers.Dense(1)(lib.layers.concatenate([a, b])))


def test_several_inputs_reach_the_steps_wrapped_as_in_keras():
    seen = {}
    for lib in (K, nablanet):
        seen[lib] = []
        model = two_input_model(lib, seen[lib])
        model.compile(optimizer="sgd", loss="mse")
        x = [np.ones((4, 3), np.float32), np.ones((4, 2), np.float32)]
        for inputs in (x, tuple(x), {"a": x[0], "b": x[1]}):
            model.predict(inputs, batch_size=4, verbose=0)
        for inputs in (x, tuple(x)):
            model.fit(inputs, np.ones((4, 1), np.float32), batch_size=4, verbose=0)
    assert seen[nablanet] == seen[K]


def test_train_step_gets_inputs_alone_when_fit_has_no_targets():
    x, _ = data(n=8)

    def build(lib, calls):
        class Autoencoder(lib.Sequential):
            def train_step(self, data):
                calls.append(describe(data))
                return {"seen": 1.0}

        return Autoencoder([lib.Input(shape=(5,)), lib.layers.Dense(5)])

    for lib in (K, nablanet):
        calls = []
        model = build(lib, calls)
        model.compile(optimizer="sgd")
        history = model.fit(x, batch_size=4, epochs=1, verbose=0).history
        assert calls == ["array(4, 5)", "array(4, 5)"], lib.__name__
        assert history == {"seen": [1.0]}


# -- callbacks -----------------------------------------------------------------------------------

HOOKS = [name for name in dir(K.callbacks.Callback) if name.startswith("on_") and "batch_" in name
         or name in ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_test_begin",
                     "on_test_end", "on_predict_begin", "on_predict_end")]


def recorder(lib, calls):
    def make(name):
        def hook(self, *args, **kwargs):
            calls.append((name, [describe_log(a) for a in args], {k: describe_log(v) for k, v in kwargs.items()}))
        return hook

    return type("Recorder", (lib.callbacks.Callback,), {name: make(name) for name in HOOKS})()


def describe_log(value):
    return sorted(value) if isinstance(value, dict) else value


def test_callbacks_get_the_hooks_and_logs_keras_gives_them():
    x, y = data(n=8)
    seen = {}
    for lib in (K, nablanet):
        calls = seen[lib] = []
        model = dense_net(lib, (3,))
        model.compile(optimizer="sgd", loss=lib.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        model.fit(x, y, batch_size=4, epochs=2, validation_data=(x, y), callbacks=[recorder(lib, calls)], verbose=0)
        model.evaluate(x, y, batch_size=4, callbacks=[recorder(lib, calls)], verbose=0)
        model.predict(x, batch_size=4, callbacks=[recorder(lib, calls)], verbose=0)
    assert seen[nablanet] == seen[K]
    assert ("on_test_end", [["accuracy", "loss"]], {}) in seen[nablanet]  # validation runs the test hooks


# -- weighting -----------------------------------------------------------------------------------

def test_sample_weight_class_weight_and_weighted_metrics_as_keras_weighs_them():
    x, y = data(n=30, seed=3)
    weights = np.random.default_rng(4).uniform(0.1, 2.0, 30).astype(np.float32)
    results, models = {}, {lib: dense_net(lib, (6, 3), activation="sigmoid") for lib in (K, nablanet)}
    copy_weights(models[K], models[nablanet])
    for lib, model in models.items():
        model.compile(optimizer=lib.optimizers.SGD(0.2), metrics=["accuracy"],
                      loss=lib.losses.SparseCategoricalCrossentropy(from_logits=True),
                      weighted_metrics=["accuracy", "sparse_categorical_crossentropy"])
        runs = [model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, sample_weight=weights).history,
                model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0,
                          class_weight={0: 0.5, 1: 2.0, 2: 1.0}).history,
                model.evaluate(x, y, sample_weight=weights, verbose=0, return_dict=True)]
        results[lib] = (model, runs)
    assert list(results[nablanet][1][0]) == ["accuracy", "loss", "sparse_categorical_crossentropy",
                                             "weighted_accuracy"]
    for ours, theirs in zip(results[nablanet][1], results[K][1]):
        assert_same_history({k: np.atleast_1d(v) for k, v in ours.items()},
                            {k: np.atleast_1d(v) for k, v in theirs.items()})


# -- signatures of the contract ------------------------------------------------------------------

@pytest.mark.parametrize("name", ["compute_loss", "compute_metrics", "train_step", "test_step", "predict_step",
                                  "get_metrics_result", "get_compile_config", "compile_from_config", "summary",
                                  "compile", "fit", "evaluate", "predict"])
def test_the_hooks_have_keras_signatures(name):
    ours = inspect.signature(getattr(nablanet.Model, name))
    theirs = inspect.signature(getattr(K.Model, name))
    assert [(p.name, p.default) for p in ours.parameters.values()] == \
        [(p.name, p.default) for p in theirs.parameters.values()]


# -- summary -------------------------------------------------------------------------------------

def summary_models(lib):
    """A chain with a nested model and a frozen layer, a graph with two inputs and two outputs,
    and a compiled, trained Sequential (its optimizer's parameters count)."""
    layers = lib.layers
    inner = lib.Sequential([lib.Input((4,)), layers.Dense(3, name="inner_dense")], name="inner")
    x = lib.Input((5,), name="x")
    chain = lib.Model(x, layers.Dense(2, name="frozen", trainable=False)(inner(layers.Dense(4, name="d1")(x))),
                      name="chain")
    a, b = lib.Input((5,), name="a"), lib.Input((3,), name="b")
    joined = layers.Concatenate(name="cat")([layers.Dense(4, name="da")(a), b])
    graph = lib.Model([a, b], [layers.Dense(2, name="o1")(joined), layers.Dense(1, name="o2")(joined)], name="graph")
    trained = lib.Sequential([lib.Input((5,)), layers.Dense(4, name="a_rather_long_layer_name_that_wraps"),
                              layers.Dense(1, name="out")], name="trained")
    trained.compile(optimizer="adam", loss="mse")
    trained.fit(np.ones((4, 5), np.float32), np.ones((4, 1), np.float32), verbose=0)
    return [chain, graph, trained]


@pytest.mark.parametrize("options", [{}, {"show_trainable": True}, {"expand_nested": True}, {"line_length": 60},
                                     {"line_length": 40, "show_trainable": True, "expand_nested": True},
                                     {"positions": [0.5, 0.8, 1.0]}, {"layer_range": ["d1", "inner"]}],
                         ids=str)
def test_summary_prints_what_keras_prints(options):
    printed = {}
    for lib in (K, nablanet):
        printed[lib] = []
        for model in summary_models(lib):
            if "layer_range" in options and model.name != "chain":
                continue
            if "positions" in options and model.name == "graph":
                continue  # a graph has four columns
            model.summary(print_fn=printed[lib].append, **options)
    assert printed[nablanet] == printed[K]
    assert all(text.endswith("\n") for text in printed[nablanet])  # print_fn gets the table as one string


def test_summary_without_print_fn_prints_the_same_lines(capsys):
    outputs = {}
    for lib in (K, nablanet):
        summary_models(lib)[0].summary()
        outputs[lib] = capsys.readouterr().out
    assert outputs[nablanet] == outputs[K]


def test_summary_layer_range_must_name_layers():
    model = summary_models(nablanet)[0]
    with pytest.raises(ValueError, match="layer_range .* matches no layer; the layers are"):
        model.summary(layer_range=["nothing", "here"])
    with pytest.raises(ValueError, match="layer_range must be two layer names"):
        model.summary(layer_range=["d1"])


# -- metrics with state variables ----------------------------------------------------------------

def true_positives(lib):
    """A metric in Keras 3's style: state made by add_variable/add_weight, the default or its own reset."""
    ops = lib.ops

    class TruePositives(lib.metrics.Metric):
        def __init__(self, name="true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")
            self.seen = self.add_weight(shape=(2,), initializer="ones", name="seen")

        def update_state(self, y_true, y_pred, sample_weight=None):
            top = ops.max(y_pred, axis=1, keepdims=True)
            hit = ops.sum(ops.cast(ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), 3), "float32")
                          * ops.cast(y_pred >= top, "float32"), axis=1)
            if sample_weight is not None:
                hit = ops.multiply(hit, ops.cast(sample_weight, "float32"))
            self.true_positives.assign_add(ops.sum(hit))
            self.seen.assign_add(np.ones(2, np.float32))

        def result(self):
            return self.true_positives.value + 0.0 * ops.sum(self.seen.value)

    return TruePositives()


def test_a_metric_built_with_add_variable_logs_as_in_keras():
    x, y = data(n=20, seed=5)
    models = {lib: dense_net(lib, (3,)) for lib in (K, nablanet)}
    copy_weights(models[K], models[nablanet])
    histories, metrics = {}, {}
    for lib, model in models.items():
        metrics[lib] = true_positives(lib)
        model.compile(optimizer=lib.optimizers.SGD(0.1), metrics=[metrics[lib]],
                      loss=lib.losses.SparseCategoricalCrossentropy(from_logits=True))
        histories[lib] = model.fit(x, y[:, None], batch_size=6, epochs=2, shuffle=False, verbose=0).history
    assert_same_history(histories[nablanet], histories[K])
    ours, theirs = metrics[nablanet], metrics[K]
    assert [v.name for v in ours.variables] == [v.name for v in theirs.variables] == ["ctp", "seen"]
    assert all(not v.trainable for v in ours.variables)
    ours.reset_state()
    theirs.reset_state()
    np.testing.assert_array_equal(to_numpy(ours.variables[1]), to_numpy(theirs.variables[1]))  # zeroed


# -- several outputs -----------------------------------------------------------------------------

def two_output_model(lib):
    layers = lib.layers
    title, body = lib.Input(shape=(6,), name="title"), lib.Input(shape=(4,), name="body")
    joined = layers.concatenate([layers.Dense(5)(title), layers.Dense(5)(body)])
    return lib.Model(inputs=[title, body], outputs=[layers.Dense(1, name="priority")(joined),
                                                    layers.Dense(3, name="department")(joined)])


def test_several_outputs_log_each_outputs_loss_and_read_dict_targets_by_name():
    rng = np.random.default_rng(6)
    x = {"title": rng.random((40, 6)).astype(np.float32), "body": rng.random((40, 4)).astype(np.float32)}
    y = {"priority": rng.random((40, 1)).astype(np.float32),
         "department": np.eye(3, dtype=np.float32)[rng.integers(0, 3, 40)]}
    models = {lib: two_output_model(lib) for lib in (K, nablanet)}
    copy_weights(models[K], models[nablanet])
    histories, evaluated = {}, {}
    for lib, model in models.items():
        model.compile(optimizer=lib.optimizers.SGD(0.01), loss_weights={"priority": 1.0, "department": 0.2},
                      loss={"priority": lib.losses.MeanSquaredError(),
                            "department": lib.losses.CategoricalCrossentropy(from_logits=True)},
                      metrics={"priority": ["mae"], "department": ["accuracy"]})
        histories[lib] = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
        evaluated[lib] = model.evaluate(x, y, verbose=0)
    assert list(histories[nablanet]) == ["department_accuracy", "department_loss", "loss", "priority_loss",
                                         "priority_mae"]
    assert_same_history(histories[nablanet], histories[K])
    np.testing.assert_allclose(evaluated[nablanet], evaluated[K], **TOL)  # Keras's order of the values too


# -- the compile config --------------------------------------------------------------------------

def test_compile_config_is_keras_and_compile_from_config_restores_it():
    configs = {}
    for lib in (K, nablanet):
        model = dense_net(lib, (2,))
        assert model.get_compile_config() == {}  # before compile
        model.compile(optimizer=lib.optimizers.Adam(0.5), loss="mse", metrics=["mae"], weighted_metrics=["mse"],
                      loss_weights=[1.0], run_eagerly=True)
        configs[lib] = model.get_compile_config()
    ours, theirs = configs[nablanet], configs[K]
    assert sorted(ours) == sorted(theirs)
    for key in ("loss", "loss_weights", "metrics", "weighted_metrics", "run_eagerly", "steps_per_execution",
                "jit_compile"):
        assert ours[key] == theirs[key], key
    assert ours["optimizer"]["class_name"] == theirs["optimizer"]["class_name"] == "Adam"
    for config in (ours, theirs):  # each library reads the other's config
        model = dense_net(nablanet, (2,))
        model.compile_from_config(config)
        assert type(model.optimizer).__name__ == "Adam" and float(model.optimizer.learning_rate) == 0.5
        assert model.loss == "mse" and model.get_compile_config()["metrics"] == ["mae"]


# -- a train_step written for Keras on torch -----------------------------------------------------

def guide_model(lib):
    """The custom steps of Keras's guide to customizing fit on torch: zero_grad, loss.backward(),
    `v.value.grad`, optimizer.apply, and every metric in `self.metrics` updated by hand."""
    torch = pytest.importorskip("torch")

    class CustomModel(lib.Model):
        def train_step(self, data):
            if len(data) == 3:
                x, y, sample_weight = data
            else:
                (x, y), sample_weight = data, None
            self.zero_grad()
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred, sample_weight=sample_weight)
            loss.backward()
            weights = list(self.trainable_weights)
            with torch.no_grad():
                self.optimizer.apply([v.value.grad for v in weights], weights)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred, sample_weight=sample_weight)
            return {m.name: m.result() for m in self.metrics}

        def test_step(self, data):
            x, y = data
            y_pred = self(x, training=False)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

    inputs = lib.Input(shape=(6,))
    return CustomModel(inputs, lib.layers.Dense(1)(inputs))


def test_a_train_step_written_for_keras_on_torch_runs_and_logs_the_same():
    rng = np.random.default_rng(7)
    x, y = rng.random((40, 6)).astype(np.float32), rng.random((40, 1)).astype(np.float32)
    weights = rng.random((40, 1)).astype(np.float32)
    models = {lib: guide_model(lib) for lib in (K, nablanet)}
    copy_weights(models[K], models[nablanet])
    results = {}
    for lib, model in models.items():
        model.compile(optimizer=lib.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
        results[lib] = [model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history,
                        model.fit(x, y, sample_weight=weights, batch_size=8, epochs=2, shuffle=False,
                                  verbose=0).history,
                        model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)]
    for ours, theirs in zip(results[nablanet], results[K]):
        assert_same_history({k: np.atleast_1d(v) for k, v in ours.items()},
                            {k: np.atleast_1d(v) for k, v in theirs.items()})
    assert all(type(v) is float for v in results[nablanet][2].values())  # logs are Python floats, as in Keras


def test_model_inputs_and_outputs_are_flat_lists_and_input_output_the_structures_as_keras():
    def build(lib):
        a, b = lib.Input((3,), name="a"), lib.Input((2,), name="b")
        model = lib.Model({"a": a, "b": b}, [lib.layers.Dense(2)(a), lib.layers.Dense(1)(b)])
        single = lib.Model(a, lib.layers.Dense(4)(a))
        return model, single

    for model, single in (build(nablanet), build(K)):
        assert isinstance(model.inputs, list) and [t.name for t in model.inputs] == ["a", "b"]
        assert isinstance(model.input, dict) and sorted(model.input) == ["a", "b"]
        assert [tuple(t.shape) for t in model.outputs] == [(None, 2), (None, 1)]
        assert isinstance(single.inputs, list) and len(single.inputs) == 1 and single.input is single.inputs[0]
        assert isinstance(single.outputs, list) and tuple(single.output.shape) == (None, 4)
    model, single = build(nablanet)
    rebuilt = nablanet.Model(single.inputs, single.outputs)  # a one-element list of inputs takes a plain array
    assert rebuilt.predict(np.ones((2, 3), "float32"), verbose=0).shape == (2, 4)


def test_a_built_dense_takes_inputs_of_another_rank_as_keras():
    for lib in (nablanet, K):
        dense = lib.layers.Dense(2, kernel_initializer="ones")
        dense(np.ones((4, 3), "float32"))
        assert tuple(dense(np.ones((4, 5, 3), "float32")).shape) == (4, 5, 2)
    with pytest.raises(ValueError, match=r"Dense .*expected inputs of shape \(None, 3\)"):
        dense = nablanet.layers.Dense(2)
        dense(np.ones((4, 3), "float32"))
        dense(np.ones((4, 5, 4), "float32"))


def test_fit_and_predict_take_object_arrays_of_strings_and_refuse_ragged_ones():
    inputs = nablanet.Input((1,), dtype="string", name="s")
    lookup = nablanet.layers.StringLookup(vocabulary=["a", "b", "c"], output_mode="one_hot")
    model = nablanet.Model({"s": inputs}, nablanet.layers.Dense(2, kernel_initializer="ones")(lookup(inputs)))
    words = np.array([["a"], ["c"], ["zz"]])
    expected = model.predict({"s": words}, verbose=0)
    assert np.allclose(model.predict({"s": words.astype(object)}, verbose=0), expected)
    as_bytes = np.array([[w.encode()] for w in words[:, 0]], dtype=object)
    assert np.allclose(model.predict({"s": as_bytes}, verbose=0), expected)
    model.compile("sgd", "mse")
    model.fit({"s": words.astype(object)}, np.zeros((3, 2)), verbose=0)
    ragged = np.empty(2, dtype=object)
    ragged[:] = [[1.0, 2.0], [3.0]]
    with pytest.raises(ValueError, match="ragged or non-numeric"):
        model.predict({"s": ragged}, verbose=0)


def test_a_model_may_start_at_intermediate_tensors_as_keras(tmp_path):
    def build(lib):
        a = lib.Input((3,))
        hidden = lib.layers.Dense(4, kernel_initializer="ones", name="first")(a)
        head = lib.layers.Dense(2, kernel_initializer="ones", name="head")
        return lib.Model(hidden, head(lib.ops.relu(hidden))), head

    ours, head = build(nablanet)
    theirs, _ = build(K)
    x = np.linspace(-1, 1, 8, dtype="float32").reshape(2, 4)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-6)
    assert [type(layer).__name__ for layer in ours.layers][0] == "InputLayer"
    assert ours.get_layer("head") is head and all(layer.name != "first" for layer in ours.layers)
    ours.compile("sgd", "mse")
    ours.fit(x, np.ones((2, 2)), verbose=0)  # trains the shared head's weights
    assert not np.allclose(head.get_weights()[0], 1.0)
    path = str(tmp_path / "intermediate.keras")
    ours.save(path)
    np.testing.assert_allclose(nablanet.saving.load_model(path).predict(x, verbose=0), ours.predict(x, verbose=0))
