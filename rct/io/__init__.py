"""Readers and writers for every input format; validation at the boundary; quarantine."""
