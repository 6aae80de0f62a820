"""The dashboard's domain: metric rules and the ports they need; no web or database code."""
