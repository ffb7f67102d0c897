"""Reading, checking and splitting training data (light core: no torch)."""
