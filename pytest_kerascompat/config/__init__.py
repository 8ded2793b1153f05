"""Configuration: the command-line options and ``matrix.yaml``."""
