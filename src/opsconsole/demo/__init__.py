"""The demo messaging database: schema, deterministic data and an embedded server.

No Textual here (the core stays free of the UI).
"""
