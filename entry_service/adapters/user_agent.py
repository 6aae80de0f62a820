"""The entry path's device parse: the same parser core_service enriches events with."""

from analytics_index.user_agent import parse_user_agent

__all__ = ["parse_user_agent"]
