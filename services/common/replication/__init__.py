"""The replica-feed kit: what every replicated service shares (services/common/README.md,
"Replicated services").

- `columns`: the mixins for a service's record, change-log and cursor tables, and
  `record_meta` (a record's meta with its provenance);
- `store`: `ReplicaStore` (change log and writer lock, local writes, replicas applied in
  batches with the cursor under the one supersede rule, cursors, dropping an origin),
  `RecordKind` (what a service names of each kind it replicates);
- `feed`: `ReplicaFeedServicer` (`justnet.common.v1.ReplicaFeed` for a store: the
  replay-then-tail change stream, single or batched, and the apply, cursor and drop
  calls) and `Changes` (wakes the streams after a write).
"""

from services.common.replication.columns import (
    ChangeColumns,
    CursorColumns,
    RecordColumns,
    record_meta,
)
from services.common.replication.feed import Changes, ReplicaFeedServicer
from services.common.replication.store import Committed, RecordKind, Replica, ReplicaStore

__all__ = [
    "ChangeColumns",
    "Changes",
    "Committed",
    "CursorColumns",
    "RecordColumns",
    "RecordKind",
    "Replica",
    "ReplicaFeedServicer",
    "ReplicaStore",
    "record_meta",
]
