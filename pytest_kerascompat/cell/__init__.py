"""Code that runs inside one cell's environment (Python 3.7+, stdlib and pytest only)."""
