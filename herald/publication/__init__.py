"""The publication function: every public change and everything it causes, in order."""
