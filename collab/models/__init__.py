"""Models: the `CollabModel` interface, the embedding models, AutoRec, and the registry `build_model` uses."""
