"""Archiver: raw images from the DAQ + headers -> FITS in the archive, catalogued.

Its topics are in `Archiver.yaml` beside this module.
"""

from dmcs.sal.interface_file import load_interface

ARCHIVER = load_interface("Archiver")
