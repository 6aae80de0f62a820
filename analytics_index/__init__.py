"""The analytics index that core writes and the dashboard reads.

- `document`: one event as an index document, and the index names (pure).
- `ports`: the `AnalyticsIndex` write port.
- `elasticsearch`, `sql`: its two adapters; `factory.open_analytics_index` picks one.
"""
