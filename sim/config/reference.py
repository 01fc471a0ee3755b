"""The scenario reference (docs/scenario-reference.md), generated from the scenario model.

Every key's type, default, allowed values and description come from the pydantic model in
``sim.config.scenario`` (through its JSON schema, so bounds of any constraint appear as they are
enforced); the GPU and preset tables come from the catalogs. ``make docs`` writes the file, and
``tests/test_reference.py`` fails when the committed file differs from what this module produces.

    python -m sim.config.reference docs/scenario-reference.md

>>> text = reference_markdown()
>>> "| `mtbf_hours` | float | required | > 0, <= 1000000000000.0 |" in text
True
>>> _allowed({"type": "number", "exclusiveMinimum": 0, "maximum": 1})
'> 0, <= 1'
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sim.config.hardware import GPUS
from sim.config.presets import PRESETS, preset_modes
from sim.config.scenario import Scenario

#: Where ``make docs`` writes the reference, relative to the repository root.
PATH = Path("docs") / "scenario-reference.md"
COMMAND = "make docs"

_TYPES = {"number": "float", "integer": "int", "boolean": "bool", "string": "string"}
_BOUNDS = (
    ("exclusiveMinimum", "> {}"),
    ("minimum", ">= {}"),
    ("exclusiveMaximum", "< {}"),
    ("maximum", "<= {}"),
    ("maxLength", "at most {} characters"),
)
_PRECISIONS = ("fp8", "bf16", "fp16", "tf32")

_INTRO = f"""\
# Scenario reference

<!-- Generated from sim/config/scenario.py by `{COMMAND}` (python -m sim.config.reference); do not edit by hand. -->

A scenario is a TOML file: top-level keys, one table per section below, and any number of
`[[failure]]` tables. Every key is checked: an unknown key is an error that suggests the closest
valid one, and a value out of its range is an error that names the key. Units are in the key
names (`_days`, `_hours`, `_minutes`, `_seconds`, `_gb_per_s`, `_usd`, ...); GB are 1e9 bytes.
`--set KEY=VALUE` on the command line and `overrides` in Python take the dotted keys of these
tables (`checkpoint.interval_minutes`, `failure.0.mtbf_hours`). A default of `none` means the key
is left out. Checks that span several keys (a `replace` mode needs `repair_hours`, `gpus` a
multiple of `gpus_per_node`, ...) are listed in [Scenario files](scenario-files.md#cross-key-checks).
"""


def _literal(value: Any) -> str:
    """A default as it would be written in TOML (``none`` for a key left out)."""
    if value is None:
        return "none"
    return f"`{json.dumps(value)}`"


def _cell(text: str) -> str:
    """One table cell: one line, reStructuredText literals as Markdown ones, pipes escaped."""
    return " ".join(text.split()).replace("``", "`").replace("|", "\\|")


def _variants(prop: dict[str, Any]) -> list[dict[str, Any]]:
    """The non-null alternatives of a property (``int | None`` has one)."""
    options = prop.get("anyOf", [prop])
    return [o for o in options if o.get("type") != "null"]


def _type(prop: dict[str, Any]) -> str:
    names = []
    for v in _variants(prop):
        if "enum" in v:
            names.append("one of " + ", ".join(f"`{e}`" for e in v["enum"]))
        else:
            names.append(_TYPES.get(v.get("type", ""), v.get("type", "any")))
    return " or ".join(names) or "any"


def _allowed(prop: dict[str, Any]) -> str:
    parts: list[str] = []
    for v in _variants(prop):
        if "minLength" in v:
            parts.append("not empty" if v["minLength"] == 1 else f"at least {v['minLength']} characters")
        parts += [fmt.format(json.dumps(v[key])) for key, fmt in _BOUNDS if key in v]
        if "pattern" in v:
            parts.append(f"matches `{v['pattern']}`")
    return ", ".join(parts)


def _table(schema: dict[str, Any]) -> list[str]:
    required = set(schema.get("required", ()))
    rows = ["| key | type | default | allowed | description |", "| --- | --- | --- | --- | --- |"]
    for name, prop in schema["properties"].items():
        default = "required" if name in required else _literal(prop.get("default"))
        description = _cell(prop.get("description", ""))
        rows.append(f"| `{name}` | {_type(prop)} | {default} | {_allowed(prop)} | {description} |")
    return rows


def _section_ref(prop: dict[str, Any]) -> tuple[str, bool] | None:
    """The model a section field refers to, and whether it is an array of them; None for a plain key."""
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1], False
    items = prop.get("items", {})
    if prop.get("type") == "array" and "$ref" in items:
        return items["$ref"].rsplit("/", 1)[-1], True
    return None


def _gpu_table() -> list[str]:
    header = " | ".join(f"{p} TFLOP/s" for p in _PRECISIONS)
    rows = [f"| `cluster.gpu` | {header} | memory GB | TDP W |", "| --- |" + " ---: |" * (len(_PRECISIONS) + 2)]
    for gpu in GPUS.values():
        peaks = " | ".join(f"{gpu.peak_tflops[p]:g}" if p in gpu.peak_tflops else "-" for p in _PRECISIONS)
        rows.append(f"| `{gpu.name}` | {peaks} | {gpu.memory_gb:g} | {gpu.tdp_watts:g} |")
    rows += ["", "Peaks are dense (no 2:4 sparsity). Sources:", ""]
    rows += [f"- `{gpu.name}`: {_cell(gpu.source)}" for gpu in GPUS.values()]
    return rows


def _preset_table() -> list[str]:
    rows = [
        "| `failure_preset` | failure mode | scope | mtbf_hours (per instance) | action | repair_hours "
        "| detect_minutes |",
        "| --- | --- | --- | ---: | --- | ---: | ---: |",
    ]
    for name in PRESETS:
        for m in preset_modes(name):
            repair = f"{m['repair_hours']:g}" if "repair_hours" in m else "-"
            detect = f"{m.get('detect_minutes', 0.0):g}"
            rows.append(
                f"| `{name}` | {_cell(m['name'])} | `{m['scope']}` | {m['mtbf_hours']:,.1f} | `{m['action']}` "
                f"| {repair} | {detect} |"
            )
    return rows


def reference_markdown() -> str:
    """The whole scenario reference, as Markdown."""
    schema = Scenario.model_json_schema()
    defs = schema["$defs"]
    top = {k: v for k, v in schema["properties"].items() if _section_ref(v) is None}
    lines = [_INTRO, "## Top level", "", *_table({"properties": top, "required": schema.get("required", [])}), ""]
    for name, prop in schema["properties"].items():
        ref = _section_ref(prop)
        if ref is None:
            continue
        model, repeated = ref
        section = defs[model]
        heading = f"[[{name}]]" if repeated else f"[{name}]"
        need = " (required)" if name in schema.get("required", ()) else ""
        note = " Repeatable: one table per failure mode." if repeated else ""
        lines += [f"## `{heading}`{need}", "", _cell(section.get("description", "")) + note, ""]
        lines += [*_table(section), ""]
    lines += ["## GPU catalog", "", *_gpu_table(), ""]
    lines += ["## Failure presets", "", *_preset_table(), ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Write the reference to the path given (default: print it)."""
    args = list(sys.argv[1:] if argv is None else argv)
    text = reference_markdown()
    if not args:
        sys.stdout.write(text)
        return 0
    Path(args[0]).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
