"""What a store failure means for the batch: wait and retry it, or set the message aside.

Transient failures pass by themselves: a lost connection, a deadlock or serialization failure,
a read-only transaction (a failover in progress), Elasticsearch saying 429, 5xx or a cluster
block. The batch is rewound and retried after a backoff; nothing is committed or dead-lettered.
Data failures are the message's own: a value a column or the mapping refuses, a broken
constraint. Only those, once bisected down to the message, go to the dead-letter topic.
Anything else is judged by asking whether the stores answer (`store_healthy`).
"""

from typing import Literal

from elasticsearch import ApiError
from elasticsearch import ConnectionError as EsConnectionError
from elasticsearch import ConnectionTimeout as EsConnectionTimeout
from sqlalchemy import exc as sa

from analytics_index.elasticsearch import IndexingError
from common_messaging import BusUnavailableError

Kind = Literal["transient", "data", "unknown"]

_TRANSIENT_SQL = (sa.OperationalError, sa.InterfaceError, sa.InternalError, sa.TimeoutError)
_DATA_SQL = (sa.IntegrityError, sa.DataError)


def failure_kind(exc: BaseException) -> Kind:
    if isinstance(exc, sa.DBAPIError) and exc.connection_invalidated:
        return "transient"
    if isinstance(exc, _TRANSIENT_SQL):
        return "transient"
    if isinstance(exc, _DATA_SQL):
        return "data"
    if isinstance(exc, BusUnavailableError):  # the index feed not acknowledged by the bus
        return "transient"
    if isinstance(exc, IndexingError):
        return "transient" if exc.transient else "data"
    if isinstance(exc, EsConnectionError | EsConnectionTimeout | ConnectionError | TimeoutError):
        return "transient"
    if isinstance(exc, ApiError):
        status = exc.meta.status
        blocked = "cluster_block" in str(exc)
        return "transient" if status == 429 or status >= 500 or blocked else "data"
    return "unknown"
