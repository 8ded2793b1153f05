"""Environments: cell environments built by nox sessions and uv, found again by key."""
