"""`keras.preprocessing.sequence`, as Keras programs import it: `pad_sequences`."""

from nablanet.data.sequence import pad_sequences

__all__ = ["pad_sequences"]
