"""The publication function: one explicit path from a revision to every output."""
