"""The Archiver: DAQ pixels + headers -> checksummed FITS files, registered in a catalog."""
