"""Management commands of the advisories app."""
