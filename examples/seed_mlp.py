"""The seed program: a Keras dense network, unchanged but for its first two lines."""

import numpy as np

import nablanet as keras
from nablanet.data import train_test_split

X_train, X_test, y_train, y_test = train_test_split(np.random.rand(1000, 784), np.random.randint(2, size=1000),
                                                    test_size=0.2)
model = keras.Sequential([
    keras.layers.Dense(64, activation="relu", input_shape=(784,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(X_train, y_train, epochs=10, batch_size=128, validation_data=(X_test, y_test))
print(history.history.keys())
