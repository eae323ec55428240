"""Prompt processing: alert production for each visit on a pool of MPI ranks kept warm.

Where things live: `rank_pool` (the service side of the warm pool: dispatch, heartbeats,
reassignment), `rank` (the rank entry point), `rank_protocol` (what travels between them),
`visit_ledger` (persisted visit states: the at-most-once guarantee), `ccd_pipeline` (the
per-CCD payload reading raws from the DAQ store), `alert_stream` (alerts to Kafka),
`service` (the visit logic), `csc` (the PromptProcessing CSC). Guide: docs/prompt_processing.md.
"""
