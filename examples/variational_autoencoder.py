"""A variational autoencoder on digits, as Keras's example writes it: a Sampling layer (the
reparameterization trick), a KL term added in `train_step`, and both losses in the History."""

from nablanet.demos import autoencoder, vae

if __name__ == "__main__":
    vae.train(autoencoder.digits())
