"""Dropout, L2 and early stopping against overfitting, on 150 handwritten digits.

Prints each variant's training and validation loss and the gap between them, and saves every
run's History plots (see `nablanet demo overfitting`).
"""

from nablanet.demos import overfitting

if __name__ == "__main__":
    overfitting.run()
