"""Cross-cutting building blocks: configuration, database, clock, errors, identity numbers, crypto."""
