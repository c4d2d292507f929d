"""The base of layers that draw random numbers (noise, augmentation)."""

import numpy as np

from nablanet import backend
from nablanet.layers.base import Layer


class SeededLayer(Layer):
    """A layer that draws from its own generator when given a `seed` (so it repeats on its own),
    else from the shared one that `utils.set_random_seed` seeds."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self._generator = None if seed is None else np.random.default_rng(seed)

    def _rng(self):
        return self._generator or backend.noise_generator()

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
