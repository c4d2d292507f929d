"""Transfer learning on real digits: a CNN trained on digits 0-4 reads digits 5-9 from 20
labelled images per class, frozen with a new Dense head, against the same CNN trained from
scratch on those 100 images (see `nablanet demo transfer`; needs scikit-learn)."""

from nablanet.demos import transfer

if __name__ == "__main__":
    transfer.run()
