"""Shared fixtures: see tests/<app>/conftest.py for each app's own."""
