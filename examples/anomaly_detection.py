"""Anomaly detection by reconstruction error: an autoencoder trained on the digits 1-9 only
(scikit-learn's 8x8 digits) scores held-out digits; the 0s, never seen, reconstruct worst. Prints
ROC-AUC (beside a distance-from-the-mean baseline), PR-AUC, and precision, recall and F1 at the
95th percentile of the validation errors. See `nablanet demo autoencoder`."""

from nablanet.demos import autoencoder

if __name__ == "__main__":
    autoencoder.detect_anomalies()
