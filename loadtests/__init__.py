"""Locust load tests of Pulse: scenarios, the run driver and the checker (docs/loadtests.md)."""
