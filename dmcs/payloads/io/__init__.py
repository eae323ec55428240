"""Writing data products: FITS and HDF5."""
