"""The Data Backbone as a Rubin Butler (``lsst-daf-butler``) repository.

Where things live: ``instrument`` (LSSTCam: detectors, filters, exposure ids),
``collections`` (the collection names), ``registry_url`` (SQLite or PostgreSQL),
``repository`` (create/open, registration, dataset types), ``raw_format`` and
``exposure_format`` (our formatters and storage classes), ``raws`` (exposure records and
ingest), ``calibrations`` (masters in the calibration collection), ``prompt_products``
(per-night outputs), ``data_queries`` (OCPS and batch queries resolved against the
registry). Guide: docs/butler.md.

Layering: this package reads the payloads' data model (``dmcs.payloads.camera``, ``io``) and
is used by the payload stages and the services; it imports nothing from ``dmcs.services``.
"""
