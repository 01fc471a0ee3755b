"""The ``trainsim`` command line: one module per command, all registered on ``sim.cli.app.app``.

>>> main(["check", "no/such/file.toml"])
2
"""

from importlib import import_module

from sim.cli.app import app, main

# Importing a command module registers its commands; this order is the order of ``trainsim --help``.
for _command in ("run", "sweep", "optimize", "compare", "plot", "fit"):
    import_module(f"sim.cli.{_command}")

__all__ = ["app", "main"]
