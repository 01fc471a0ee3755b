"""Charts, drawn from result folders only (never the engine)."""
