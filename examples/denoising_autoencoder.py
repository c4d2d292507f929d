"""Denoising: Keras's convolutional autoencoder (Conv2D 'same', MaxPooling2D, UpSampling2D,
sigmoid output, binary cross-entropy) trained on digits with Gaussian noise; prints the PSNR of
the noisy and the denoised test images. See `nablanet demo autoencoder`."""

from nablanet.demos import autoencoder

if __name__ == "__main__":
    autoencoder.denoise(autoencoder.digits())
