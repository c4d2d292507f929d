"""A variational autoencoder written as in Keras's example: a `Sampling` layer for the
reparameterization trick, which also adds the KL term with `add_loss`, and a `train_step` that
adds the model's losses to the reconstruction loss and tracks both in the History.

The noise is a constant to autodiff, so the gradient reaches the encoder through the mean and
the log-variance: z = mean + exp(log_var / 2) * eps.
"""

import nablanet as keras
from nablanet import layers, ops


class Sampling(layers.Layer):
    """z ~ N(mean, exp(log_var)) as mean + exp(log_var / 2) * eps, eps ~ N(0, I) drawn from the
    shared generator, or from a stream of its own when `seed` is given. Adds the KL divergence
    from N(0, I) to the model's losses (`add_loss`)."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = None if seed is None else keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        self.add_loss(kl_divergence(z_mean, z_log_var))
        eps = keras.random.normal(z_mean.shape, dtype=z_mean.dtype, seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * eps

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def kl_divergence(z_mean, z_log_var):
    """KL(N(mean, exp(log_var)) || N(0, I)) per sample, averaged over the batch."""
    return ops.mean(ops.sum(-0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var)), axis=1))


class VAE(keras.Model):
    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def call(self, x):
        return self.decoder(self.encoder(x)[0])  # the mean code: a deterministic reconstruction

    def train_step(self, data):
        x = data  # fit(x) without y passes the inputs alone, as Keras does
        _, _, z = self.encoder(x, training=True)  # z_mean and z_log_var went into the KL term
        reconstruction = self.decoder(z, training=True)
        per_pixel = keras.losses.binary_crossentropy(x[..., None], reconstruction[..., None])
        reconstruction_loss = ops.mean(ops.sum(per_pixel, axis=1))
        kl_loss = sum(self.encoder.losses)  # what Sampling added in this call
        total = reconstruction_loss + kl_loss
        self.optimizer.zero_grad(self.trainable_weights)
        total.backward()
        self.optimizer.step(self.trainable_weights)
        self.total_loss_tracker.update_state(total)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.kl_loss_tracker.update_state(kl_loss)
        return {m.name: m.result() for m in self.metrics}


def build(features=64, latent=2, seed=None):
    inputs = keras.Input((features,))
    hidden = layers.Dense(64, activation="relu")(inputs)
    z_mean = layers.Dense(latent, name="z_mean")(hidden)
    z_log_var = layers.Dense(latent, name="z_log_var")(hidden)
    encoder = keras.Model(inputs, [z_mean, z_log_var, Sampling(seed=seed)([z_mean, z_log_var])], name="encoder")
    decoder = keras.Sequential([
        keras.Input((latent,)), layers.Dense(64, activation="relu"),
        layers.Dense(features, activation="sigmoid")], name="decoder")
    model = VAE(encoder, decoder)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model


def train(data, epochs=30, out=print):
    """Train on the digits' training split; return the History's losses per epoch."""
    x_train = data[0]
    keras.utils.set_random_seed(0)
    model = build(x_train.shape[1])
    history = model.fit(x_train, epochs=epochs, batch_size=64, verbose=0).history
    out(f"  {epochs} epochs: total loss {history['total_loss'][0]:.1f} -> {history['total_loss'][-1]:.1f} "
        f"(reconstruction {history['reconstruction_loss'][-1]:.1f} + KL {history['kl_loss'][-1]:.2f} nats)")
    return history
