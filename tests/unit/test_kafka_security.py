"""Kafka SASL/TLS settings reach every Kafka client Pulse builds, and the password never shows:
not in the settings' repr, not in a log line of a service that read it from the environment."""

import io
import logging
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from pydantic import SecretStr

from common_messaging.bus import BusSettings
from common_messaging.bus.kafka import KafkaEventConsumer, KafkaPublisher, producer_config
from common_messaging.bus.kafka_admin import ensure_topics
from common_messaging.bus.kafka_lag import KafkaLagReader
from pulse import cli
from servicekit.logs import configure_logging
from servicekit.settings import CommonSettings

PASSWORD = "kafka-pass-7f3a9c"
NOWHERE = "127.0.0.1:1"


def _managed(**extra: object) -> BusSettings:
    return BusSettings(
        kafka_bootstrap_servers=NOWHERE,
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="pulse-app",
        kafka_sasl_password=SecretStr(PASSWORD),
        **extra,  # type: ignore[arg-type]
    )


def test_the_producer_config_carries_the_security_keys() -> None:
    bus = _managed(kafka_ssl_ca_location="/etc/ssl/certs/ca-certificates.crt")
    config = producer_config(NOWHERE, "pulse", 15_000, bus.kafka_security)
    assert {k: config[k] for k in config if k.startswith(("security", "sasl", "ssl"))} == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "pulse-app",
        "sasl.password": PASSWORD,
        "ssl.ca.location": "/etc/ssl/certs/ca-certificates.crt",
    }
    # What Pulse always insists on stays, whatever the security settings.
    assert (config["acks"], config["enable.idempotence"]) == ("all", True)


def test_a_plaintext_cluster_sets_no_security_key() -> None:
    config = producer_config(NOWHERE, "pulse", 15_000, BusSettings().kafka_security)
    assert not [k for k in config if k.startswith(("security", "sasl", "ssl"))]


def test_every_client_is_built_with_them(tmp_path: Path) -> None:
    # librdkafka reads the CA file when a client is built: a missing one fails at once, which
    # shows the key reached that client (a client built without it would not look).
    bus = _managed(kafka_ssl_ca_location=str(tmp_path / "missing-ca.pem"))
    security = bus.kafka_security
    builders = {
        "producer": lambda: KafkaPublisher(NOWHERE, "pulse", 1_000, security=security),
        "consumer": lambda: KafkaEventConsumer(NOWHERE, "g", ["t"], security=security),
        "admin": lambda: ensure_topics(
            NOWHERE, {"t": 1}, partitions=1, replication_factor=1, security=security
        ),
        "lag reader": lambda: KafkaLagReader(NOWHERE, security=security),
    }
    for name, build in builders.items():
        with pytest.raises(KafkaException, match="ssl.ca.location"):
            build()
            pytest.fail(f"the {name} was built without the CA location")


def test_the_password_is_never_printed(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    monkeypatch.setenv("PULSE_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("PULSE_KAFKA_SASL_MECHANISM", "PLAIN")
    monkeypatch.setenv("PULSE_KAFKA_SASL_USERNAME", "pulse-app")
    monkeypatch.setenv("PULSE_KAFKA_SASL_PASSWORD", PASSWORD)
    common = CommonSettings(data_dir=data_dir)
    assert common.bus.kafka_security.client_config()["sasl.password"] == PASSWORD
    for shown in (repr(common), str(common), repr(common.bus), repr(common.bus.kafka_security)):
        assert PASSWORD not in shown
    cli.service_settings(common, make_up_tokens=False)
    for log_format in ("json", "text"):
        out = io.StringIO()
        configure_logging("INFO", log_format, stream=out)  # type: ignore[arg-type]
        # Whatever carries it into a log line (a library's error, a config dump) is masked.
        logging.getLogger("confluent_kafka").warning("sasl auth failed with %s", PASSWORD)
        logging.getLogger("pulse").info("kafka_config config=%s", common.bus.model_dump())
        assert out.getvalue().count("\n") == 2
        assert PASSWORD not in out.getvalue()
