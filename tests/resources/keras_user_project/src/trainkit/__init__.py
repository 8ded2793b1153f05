"""trainkit: a regression model and the helpers that train it."""
