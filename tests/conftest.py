"""Pytest configuration: the tests import their builders from tests/builders.py."""
