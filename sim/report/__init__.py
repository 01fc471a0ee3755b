"""Terminal and HTML reports, from result tables and folders (never the engine)."""
