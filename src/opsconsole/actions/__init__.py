"""Guarded actions: the repairs an on-call engineer makes, made safe (DESIGN.md "Guarded actions").

One engine serves the TUI dialog and ``opsconsole action``: preview exactly the rows that would
change, check that writes are allowed, confirm the count, apply under an advisory lock in short
audited transactions restricted to the previewed keys, and undo from the stored before-images.
This package never imports Textual.
"""
