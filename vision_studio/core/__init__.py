"""Everything that computes. No Qt below this package (checked by import-linter)."""
