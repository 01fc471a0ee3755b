"""Scenario model, TOML loading, overrides, cross-key checks, presets, hardware catalog.

Imports nothing else of sim.
"""
