"""Hyperparameter tuning as Keras Tuner users write it, on scikit-learn's handwritten digits.

A build_model(hp) with a conditional second layer, Bayesian optimization (Optuna's TPE) with
the median pruner, then the best model evaluated on held-out digits. For a search that
survives a crash or spreads over processes, pass directory= (SQLite) or storage= (a database
URL) and run the same script again or elsewhere; `search(..., n_jobs=2)` forks workers.
"""

import nablanet as keras
from nablanet import tune
from nablanet.data import train_test_split


def build_model(hp):
    model = keras.Sequential([keras.Input(shape=(64,))])
    model.add(keras.layers.Dense(hp.Int("units", 16, 128, step=16), activation="relu"))
    if hp.Boolean("second_layer"):
        with hp.conditional_scope("second_layer", [True]):
            model.add(keras.layers.Dense(hp.Int("units_2", 16, 64, step=16), activation="relu"))
    model.add(keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.1)))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(optimizer=keras.optimizers.Adam(hp.Float("learning_rate", 1e-4, 3e-2, sampling="log")),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main():
    from sklearn.datasets import load_digits

    digits = load_digits()
    x, y = (digits.data / 16.0).astype("float32"), digits.target
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    x_train, x_val, y_train, y_val = train_test_split(x_train, y_train, test_size=0.3, random_state=0)

    tuner = tune.BayesianOptimization(build_model, objective="val_accuracy", max_trials=8,
                                      num_initial_points=3, seed=0)
    tuner.search_space_summary()
    tuner.search(x_train, y_train, epochs=6, validation_data=(x_val, y_val), verbose=0)
    tuner.results_summary(num_trials=5)

    best_hp = tuner.get_best_hyperparameters()[0]
    model = tuner.get_best_models()[0]
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"\nbest hyperparameters: {best_hp.values}")
    print(f"test accuracy of the best model: {accuracy:.3f} (loss {loss:.3f})")
    print(f"the Optuna study underneath: {tuner.study.study_name!r}, {len(tuner.study.trials)} trials")


if __name__ == "__main__":
    main()
