"""Presentation shared by the faces, with no Textual: check results, previews and database values
as inert text (rich Text for terminals, plain text and JSON/Prometheus for the CLI)."""
