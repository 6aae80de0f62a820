"""User summaries (first/last seen, purchases, entries) that eligibility conditions read.

- `ports`: `SummaryReader`, `SummaryCache` and the summary's view (pure).
- `sql_reader`: the reader over the `user_summaries` table.
- `redis_cache`: the Redis read-through cache and its invalidation.
"""
