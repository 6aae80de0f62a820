"""Consumer lag per partition, as the broker sees it: each partition's end offset minus the
group's committed offset. Read with the admin API and a client of the group that never joins
it, not from inside the group's consumers, so the figure stays true while every consumer of the
group is down (when it matters most)."""

from collections.abc import Sequence
from dataclasses import dataclass

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from common_messaging.bus.kafka_security import KafkaSecurity, client_config


@dataclass(frozen=True, slots=True)
class PartitionLag:
    topic: str  # the logical name, without the environment's prefix
    partition: int
    lag: int


class KafkaLagReader:
    def __init__(
        self,
        bootstrap_servers: str,
        topic_prefix: str = "",
        *,
        security: KafkaSecurity | None = None,
    ) -> None:
        self._config = client_config(bootstrap_servers, security)
        self._admin = AdminClient(self._config)
        self._prefix = topic_prefix
        self._groups: dict[str, Consumer] = {}

    def _group(self, group: str) -> Consumer:
        """A client of the group that never joins it, only to read its committed offsets.

        Not the admin API's ListConsumerGroupOffsets: librdkafka (2.x) crashes the process
        when that request meets NOT_COORDINATOR (a client without a group of its own has no
        coordinator state to retry with, confluentinc/librdkafka#5040), which a fresh cluster
        or a broker failover answers. A consumer client retries the coordinator instead.
        """
        if group not in self._groups:
            self._groups[group] = Consumer(
                {**self._config, "group.id": group, "enable.auto.commit": False}
            )
        return self._groups[group]

    def lag(self, group: str, topics: Sequence[str], timeout_s: float = 10) -> list[PartitionLag]:
        names = [self._prefix + t for t in topics]
        metadata = self._admin.list_topics(timeout=timeout_s).topics
        partitions = [
            TopicPartition(name, p)
            for name in names
            if name in metadata
            for p in sorted(metadata[name].partitions)
        ]
        if not partitions:
            return []
        committed = {
            (tp.topic, tp.partition): tp.offset
            for tp in self._group(group).committed(partitions, timeout=timeout_s)
        }
        ends = self._offsets(partitions, OffsetSpec.latest(), timeout_s)  # type: ignore[no-untyped-call]
        starts = self._offsets(partitions, OffsetSpec.earliest(), timeout_s)  # type: ignore[no-untyped-call]
        lags = []
        for tp in partitions:
            key = (tp.topic, tp.partition)
            # Nothing committed yet: the group would start at the earliest retained message.
            position = committed.get(key, -1)
            position = position if position >= 0 else starts[key]
            lags.append(
                PartitionLag(
                    tp.topic.removeprefix(self._prefix), tp.partition, max(0, ends[key] - position)
                )
            )
        return lags

    def _offsets(
        self, partitions: list[TopicPartition], spec: OffsetSpec, timeout_s: float
    ) -> dict[tuple[str, int], int]:
        futures = self._admin.list_offsets(
            dict.fromkeys(partitions, spec), request_timeout=timeout_s
        )
        return {
            (tp.topic, tp.partition): int(f.result(timeout_s).offset) for tp, f in futures.items()
        }
