"""When the data cannot give a result (too few stars for the PSF, the astrometry or the zero
point; too few for the difference-imaging kernel): an outcome of the science, not a fault of
the system.

Prompt processing and the catch-up record such a CCD with the reason and go on; only errors
of the system (a crash, a lost rank, an unreadable raw) fail a work item. A ValueError, so
callers that treat any bad input alike still do.
"""


class ScienceLimitError(ValueError):
    """This CCD's data cannot give the measurement; the text says which and why."""
