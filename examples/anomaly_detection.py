"""Anomaly detection by reconstruction error: an autoencoder trained on benign tumours only
(scikit-learn's breast cancer data) scores held-out benign and malignant samples; prints ROC-AUC,
PR-AUC and precision, recall and F1 at the 95th percentile of the validation errors."""

from nablanet.demos import autoencoder

if __name__ == "__main__":
    autoencoder.detect_anomalies()
