"""Evaluation: rating and ranking metrics (each named for its protocol) and k-fold splits."""
