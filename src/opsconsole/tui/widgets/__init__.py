"""The console's widgets: check lists, table panels, the header, the tab bar, one-line text."""
