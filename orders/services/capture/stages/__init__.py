"""The capture's stages, one job each, in the order `pipeline.STAGES` runs them."""
