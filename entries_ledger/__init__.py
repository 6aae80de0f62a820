"""The entries ledger: where a campaign entry is won, shared by core's consumer and the
embedded gate.

- `decider`: `EntryDecider` and its `EntryLedger` port (pure; no SQL).
- `sql_ledger`: the ledger over the `entries`, `activities` and summary tables.
- `after_decision`: what follows a decision (summaries invalidated, wins indexed).
"""
