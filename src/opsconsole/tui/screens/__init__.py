"""The console's screens: the Overview, one generic screen per ScreenSpec, and drill-downs."""
