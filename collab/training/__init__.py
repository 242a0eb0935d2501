"""Training: `TrainConfig`, the loop, `TrainResult`, optimizers, the memory estimate, safe save/load,
data-parallel sync, blends and cross-validation (the procedures that train several models)."""
