"""Helpers shared by the test suite and the benchmark: free ports, stopping processes, and
PostgreSQL databases made for one run. Nothing in `src/` imports from here."""
