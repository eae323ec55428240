"""Dataset refs with deterministic ids: dataset type + data ID + run make the id, so any
writer (a restarted archiver, a second one racing it, a re-run job) computes the same one and
a dataset written twice is registered once."""

from __future__ import annotations

from lsst.daf.butler import DataCoordinate, DatasetIdGenEnum, DatasetRef, DatasetType


def deterministic_ref(dataset_type: DatasetType, data_id: DataCoordinate, run: str) -> DatasetRef:
    return DatasetRef(dataset_type, data_id, run=run,
                      id_generation_mode=DatasetIdGenEnum.DATAID_TYPE_RUN)
