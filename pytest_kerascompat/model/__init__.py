"""The result model every report shares, the outcomes, and the table of known changes."""
