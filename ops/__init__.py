"""Operations tooling: the load test and Prometheus run behind docs/operations.md's pictures."""
