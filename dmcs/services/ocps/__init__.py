"""OCS-driven batch processing (the observatory's OCPS): pipelines run on the job manager.

Where things live: `request` (the execute command's text fields parsed), `batch` (the logic:
prerequisites, submission, following each job to its result), `catch_up` (the daytime
catch-up of visits prompt processing marked late), `csc` (the OCPS CSC). Guide: docs/ocps.md.
"""
