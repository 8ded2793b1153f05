"""``python -m pytest_kerascompat fix``: rewrite what ``scan`` finds to code every cell runs.

``rewrites`` declares each rewrite once (its scan rule and the releases its result
needs) and makes the edits with LibCST; ``window`` reads the releases the project
supports; ``files`` reads and writes files and notebooks; ``project`` runs over the
paths given; ``verify`` sweeps before and after; ``command`` is the CLI, and the only
module imported when the command line is built (LibCST loads when the command runs).
"""
