"""Single-frame characterization: detection, PSF, measurement, astrometry, photometry."""
