"""The connection layer: settings and profiles, DSN parsing and masking, database sessions."""
