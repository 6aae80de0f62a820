"""The event bus port and its adapters (`open_publisher`, `open_consumer` pick one by settings)."""

from common_messaging.bus.factory import BusSettings, open_consumer, open_publisher, prepare_bus

__all__ = ["BusSettings", "open_consumer", "open_publisher", "prepare_bus"]
