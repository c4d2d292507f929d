"""Callbacks with Keras's names, arguments and semantics."""

from nablanet.callbacks.base import Callback, CallbackList, History, ProgbarLogger
from nablanet.callbacks.checkpoint import BackupAndRestore, ModelCheckpoint
from nablanet.callbacks.early_stopping import EarlyStopping
from nablanet.callbacks.gradient_monitor import ConvergenceWarning, GradientMonitor
from nablanet.callbacks.learning_rate import LearningRateScheduler, ReduceLROnPlateau
from nablanet.callbacks.logging import CSVLogger, LambdaCallback, TerminateOnNaN
from nablanet.callbacks.remote_monitor import RemoteMonitor
from nablanet.callbacks.swap_ema_weights import SwapEMAWeights
from nablanet.callbacks.tensorboard import TensorBoard

__all__ = [
    "BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "ConvergenceWarning", "EarlyStopping",
    "GradientMonitor", "History", "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint",
    "ProgbarLogger", "ReduceLROnPlateau", "RemoteMonitor", "SwapEMAWeights", "TensorBoard", "TerminateOnNaN",
]
