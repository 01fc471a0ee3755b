"""Result folders: file names, atomic writes, strict JSON, loading them back, number formats (never the engine)."""
