"""``python -m pytest_kerascompat`` commands: merge, ci-matrix, scan, bisect, diff, cache, fix."""
