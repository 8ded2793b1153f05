"""Renderers: each writes one format from the shared :class:`~pytest_kerascompat.results.Report`."""
