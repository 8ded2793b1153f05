"""Planning: interpreters, the package index, known-good pins, and each cell's plan."""
