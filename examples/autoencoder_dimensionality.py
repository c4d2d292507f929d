"""Dimensionality reduction on scikit-learn's digits: dense autoencoders 64 -> 2 and 64 -> 10
against PCA at the same size (test-set reconstruction MSE), and a scatter plot of the 2-D codes
coloured by class (needs matplotlib). See `nablanet demo autoencoder`."""

import sys
import tempfile

from nablanet.demos import autoencoder

if __name__ == "__main__":
    directory = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="nablanet-codes-")
    autoencoder.reduce_dimensions(autoencoder.digits(), directory=directory)
