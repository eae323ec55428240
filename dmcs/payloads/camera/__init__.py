"""Camera simulation: focal plane, sky, truth, exposures and snaps."""
