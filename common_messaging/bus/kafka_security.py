"""How Pulse's Kafka clients authenticate to a managed cluster (SASL and/or TLS).

Every producer, consumer and admin client takes the same keys, so they are assembled once here
from `BusSettings`. The password is a `SecretStr`: it shows as `**********` in any repr or log
line of the settings, and is revealed only in the dict handed to librdkafka.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, SecretStr

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class KafkaSecurity(BaseModel):
    """librdkafka's security keys; all unset (the default) is a plaintext local cluster."""

    model_config = ConfigDict(frozen=True)

    protocol: SecurityProtocol | None = None
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_location: str | None = None

    def client_config(self) -> dict[str, str]:
        """The keys to merge into a producer, consumer or admin client's configuration."""
        config: dict[str, str] = {}
        if self.protocol:
            config["security.protocol"] = self.protocol
        if self.sasl_mechanism:
            config["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username is not None:
            config["sasl.username"] = self.sasl_username
        if self.sasl_password is not None:
            config["sasl.password"] = self.sasl_password.get_secret_value()
        if self.ssl_ca_location:
            config["ssl.ca.location"] = self.ssl_ca_location
        return config


def client_config(bootstrap_servers: str, security: KafkaSecurity | None) -> dict[str, Any]:
    """What every Pulse Kafka client starts from: where the cluster is, and how to log in."""
    return {**(security or KafkaSecurity()).client_config(), "bootstrap.servers": bootstrap_servers}
