"""Create Pulse's topics with explicit partitions and retention (`pulse migrate` calls this)."""

import logging
from collections.abc import Mapping

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from common_messaging.bus.kafka_security import KafkaSecurity, client_config

log = logging.getLogger(__name__)


def ensure_topics(
    bootstrap_servers: str,
    topics: Mapping[str, int],
    *,
    partitions: int,
    replication_factor: int,
    timeout_s: float = 30,
    security: KafkaSecurity | None = None,
) -> list[str]:
    """Create missing topics (name -> retention in ms); returns the names it created."""
    admin = AdminClient(client_config(bootstrap_servers, security))
    existing = set(admin.list_topics(timeout=timeout_s).topics)
    wanted = [
        NewTopic(
            name,
            num_partitions=partitions,
            replication_factor=replication_factor,
            config={
                "retention.ms": str(retention_ms),
                "min.insync.replicas": str(min(2, replication_factor)),
                "unclean.leader.election.enable": "false",
            },
        )
        for name, retention_ms in topics.items()
        if name not in existing
    ]
    if not wanted:
        return []
    created = []
    for name, future in admin.create_topics(wanted, request_timeout=timeout_s).items():
        try:
            future.result(timeout_s)
            created.append(name)
            log.info("kafka_topic_created topic=%s partitions=%d", name, partitions)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    return created
