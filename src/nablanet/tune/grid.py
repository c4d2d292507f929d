"""`GridSearch`: every combination of the discrete search space, queued once in the study."""

import time

import optuna

from nablanet.tune import arguments
from nablanet.tune.hyperparameters import Fixed, HyperParameters, grid_points
from nablanet.tune.objective import SearchError
from nablanet.tune.tuners import Tuner


class GridSearch(Tuner):
    """Every combination of the hyperparameters' values, each visited once.

    Floats need a step. A point holds the values its model uses: a hyperparameter under a
    condition (hp.conditional_scope, parent_name/parent_values, or a plain `if` or loop in
    build_model) multiplies only the branch that declares it. The points are queued in the
    study when it is created, and a worker takes one by moving it from WAITING to RUNNING, which
    the storage grants to one worker only; so several workers never run a point twice (Optuna's
    GridSampler may, as its documentation says). `max_trials` (all points by default) stops early.

    Example:
        >>> import nablanet
        >>> def build_model(hp):
        ...     model = nablanet.Sequential([nablanet.layers.Dense(hp.Int("units", 2, 4, step=2))])
        ...     model.compile(optimizer=hp.Choice("optimizer", ["sgd", "adam"]), loss="mse")
        ...     return model
        >>> GridSearch(build_model, objective="loss").max_trials
        4
    """

    def __init__(self, hypermodel, objective="val_loss", max_trials=None, **kwargs):
        super().__init__(hypermodel, objective, max_trials, **kwargs)

    def _sampler(self, worker):
        # every value is queued: the sampler draws only for a point declared too late (an error)
        return optuna.samplers.RandomSampler(seed=self._worker_seed(worker))

    def _discover(self):
        """Build (not train) the combinations, as the space grows, to learn which hyperparameters
        each one uses: a point is what its model used, so hyperparameters in a loop
        (`for i in range(hp.Int("layers", 1, 3))`) or behind an `if` join only the points that
        use them. A build depends only on the values it read, so a combination that agrees with
        an earlier build on those is not built again: each point is built once (the build that
        finds a new hyperparameter, twice), not once more for every hyperparameter found later.
        """
        space, builds = super()._discover(), _Builds()
        grown = True
        while grown:
            grown = False
            for point in grid_points(space):
                if builds.find(point) is not None:
                    continue
                hp = HyperParameters._from(space, values=point)
                try:
                    self._build(hp)
                except Exception:  # noqa: BLE001 -- its trial will fail and record why
                    pass
                builds.add(point, hp)
                if len(hp.space) > len(space):
                    space, grown = list(hp.space), True
                    break
        fixed = {spec.name for spec in space if isinstance(spec, Fixed)}
        points = {}
        for point in grid_points(space):
            values = {k: v for k, v in builds.find(point).items() if k not in fixed}
            points.setdefault(_key(values), values)
        self.points = list(points.values())
        return space

    def _budget(self, max_trials):
        if max_trials is None:
            return len(self.points)
        return arguments.positive_int(max_trials, "max_trials", "GridSearch")

    def _prepare(self, created):
        key = f"{len(self.points)} points: {sorted(map(_key, self.points))}"
        if created:
            for point in self.points:
                self.study.enqueue_trial(point)
            self.study.set_user_attr("grid", key)
            return
        began = time.monotonic()
        while "grid" not in self.study.user_attrs and time.monotonic() - began < 30:
            time.sleep(0.2)  # the worker that created the study is still queueing the points
        stored = self.study.user_attrs.get("grid")
        if stored is None:  # its creator died while queueing: queue what is missing
            present = {_key(_point_of(t)) for t in self.study.get_trials(deepcopy=False)}
            for point in self.points:
                if _key(point) not in present:
                    self.study.enqueue_trial(point)
            self.study.set_user_attr("grid", key)
        elif stored != key:
            raise ValueError(f"GridSearch: the study {self.study_name!r} holds another grid; pick "
                             "another project_name/study_name or pass overwrite=True")

    def _has_budget(self, counted, running, waiting):
        return bool(waiting) and super()._has_budget(counted, running, waiting)

    def _skip_reason(self, trial, counted, running):
        point = trial.system_attrs.get("fixed_params")
        if point is None:
            return "the grid is exhausted"
        for other in counted + running:
            if other.number < trial.number and _point_of(other) == point:
                return f"grid point already run as trial {other.number}"
        return super()._skip_reason(trial, counted, running)

    def _source(self, trial):
        names = {spec.name for spec in self.space}

        def value(spec):
            if spec.name not in names and not isinstance(spec, Fixed):
                raise SearchError(
                    f"GridSearch: hyperparameter {spec.name!r} was not declared when the grid was "
                    "listed (by building each combination); declare it in build, not in "
                    "HyperModel.fit, and let build declare the same ones for the same values")
            return spec.suggest(trial)

        return value


class _Builds:
    """The builds made while listing a grid, found again by the values each one read."""

    def __init__(self):
        self._tables = {}  # the names a build read -> {their state in its point: values it used}

    def add(self, point, hp):
        names = tuple(sorted(hp._read))
        self._tables.setdefault(names, {})[_state(point, names)] = hp._used()

    def find(self, point):
        """The values a build of `point` uses, if a build that read the same values was made."""
        for names, table in self._tables.items():
            used = table.get(_state(point, names))
            if used is not None:
                return used
        return None


def _state(point, names):
    return tuple((name in point, point.get(name)) for name in names)


def _key(point):
    return repr(sorted(point.items()))


def _point_of(trial):
    return trial.system_attrs.get("fixed_params") or trial.params
