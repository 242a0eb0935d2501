"""What a trained model is for: PCA, neighbours, biases, top-N, similar items and new-user fold-in."""
