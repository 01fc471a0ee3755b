"""Experiments: one replication, many, their statistics, sweeps, optimize, executors and the durable store."""
