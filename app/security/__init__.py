"""Authentication: bearer tokens and the caller they describe."""
