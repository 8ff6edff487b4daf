"""Helpers the benchmarks and the multi-server tests share: starting Knotwork's processes on loopback,
waiting for them, stopping or killing them, and throwaway PostgreSQL databases. Not a benchmark itself
(`make bench` runs only the scripts directly inside benchmarks/)."""
