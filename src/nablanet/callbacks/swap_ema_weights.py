"""SwapEMAWeights: evaluate (and checkpoint) with the optimizer's moving average of the weights."""

import numpy as np

from nablanet.callbacks.base import Callback


class SwapEMAWeights(Callback):
    """Put the optimizer's exponential moving average of the weights into the model for evaluation
    and prediction, and the trained weights back afterwards (the optimizer needs `use_ema=True`).

    Args:
        swap_on_epoch: Also swap at the end of every epoch and back at the start of the next, so
            that the callbacks after this one (a `ModelCheckpoint`, say) see the averages; after
            the last epoch the model keeps them, as `fit` itself leaves them there.

    Example:
        >>> import nablanet as keras
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile(keras.optimizers.SGD(use_ema=True), "mse")
        >>> history = model.fit(np.ones((4, 2)), np.ones((4, 1)), validation_split=0.5, verbose=0,
        ...                     callbacks=[SwapEMAWeights()])
        >>> sorted(history.history)
        ['loss', 'val_loss']
    """

    def __init__(self, swap_on_epoch=False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False
        self._trained = None

    def _optimizer(self):
        optimizer = getattr(self.model, "optimizer", None)
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # a LossScaleOptimizer's
        if not getattr(optimizer, "use_ema", False):
            raise ValueError(f"SwapEMAWeights: expected an optimizer with use_ema=True, got use_ema="
                             f"{getattr(optimizer, 'use_ema', None)} (set it when creating the optimizer)")
        if not getattr(optimizer, "built", False):
            raise ValueError("SwapEMAWeights: the optimizer holds no moving averages yet; train the model "
                             "(fit) before evaluating with its averaged weights")
        return optimizer

    def _swap_in(self):
        # the optimizer's public hook writes the averages in; the trained values wait here
        optimizer = self._optimizer()
        variables = self.model.trainable_weights
        self._trained = [np.array(v.numpy(), copy=True) for v in variables]
        optimizer.finalize_variable_values(variables)
        self._ema_weights_in_model = True

    def _swap_out(self):
        for variable, value in zip(self.model.trainable_weights, self._trained):
            variable.assign(value)
        self._trained = None
        self._ema_weights_in_model = False

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch and self._ema_weights_in_model:
            self._swap_out()

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap_in()
            if epoch == self.params.get("epochs", 0) - 1:
                # fit ends with the averages in the model: both sides of the swap hold them now
                self._trained = [np.array(v.numpy(), copy=True) for v in self.model.trainable_weights]

    def on_test_begin(self, logs=None):
        if not self._ema_weights_in_model:
            self._swap_in()

    def on_test_end(self, logs=None):
        if self._ema_weights_in_model:
            self._swap_out()

    def on_predict_begin(self, logs=None):
        if not self._ema_weights_in_model:
            self._swap_in()

    def on_predict_end(self, logs=None):
        if self._ema_weights_in_model:
            self._swap_out()
