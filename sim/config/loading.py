"""Loading scenarios: TOML files and text, dotted-key overrides, and one-line errors.

Scenario files are TOML. Every key is checked; an unknown key is an error that suggests the
closest valid one; ``overrides`` (``--set a.b=c`` on the command line) go through the same checks.

>>> s = load_scenario_text('name = "tiny"\\n[cluster]\\ngpus = 16\\n[checkpoint]\\nwrite_seconds = 30')
>>> s.cluster.gpus, s.job_nodes, s.checkpoint.interval_minutes
(16, 2, 30.0)
>>> load_scenario_text('name = "x"\\n[cluster]\\ngpus = 16\\ngpu = "B300"')
Traceback (most recent call last):
...
sim.config.errors.ScenarioError: cluster.gpu: unknown GPU 'B300' (known: H100-SXM, H200-SXM, A100-SXM-80GB)
>>> load_scenario_text('name = "x"\\n[cluster]\\ngpus = 16\\nspare_node = 2')
Traceback (most recent call last):
...
sim.config.errors.ScenarioError: cluster.spare_node: unknown key (did you mean 'spare_nodes'?)
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from sim.config.checks import check_consistency
from sim.config.errors import KEY_CHARS, ScenarioError, clip_key, shown
from sim.config.scenario import Scenario


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Read, override and validate a scenario file; every problem is a ``ScenarioError``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{p}: no such scenario file") from None
    except OSError as e:
        raise ScenarioError(f"{p}: cannot read: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ScenarioError(f"{p}: not UTF-8 text (byte {e.object[e.start]:#04x} at offset {e.start})") from None
    except ValueError as e:  # a NUL character in the path
        raise ScenarioError(f"{shown(str(p))}: not a usable path ({e})") from None
    try:
        return load_scenario_text(text, overrides)
    except ScenarioError as e:
        raise ScenarioError(f"{p}: {e}") from None


def load_scenario_text(text: str, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Validate scenario TOML given as text (see ``load_scenario``)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"malformed TOML: {e}") from None
    except ValueError:
        # Python refuses to read integers of more than 4,300 digits (int_max_str_digits).
        raise ScenarioError("malformed TOML: a number too long to read (more than 4,300 digits)") from None
    except RecursionError:
        raise ScenarioError("malformed TOML: arrays or tables nested too deeply") from None
    return scenario_from_dict(raw, overrides)


def scenario_from_dict(raw: Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Validate a scenario given as nested dicts, after applying dotted-key overrides."""
    try:
        data = _deep_copy(raw)
        for key, value in (overrides or {}).items():
            set_key(data, key, value)
        try:
            scenario = Scenario.model_validate(data)
        except ValidationError as e:
            raise ScenarioError(_describe(e)) from None
    except RecursionError:
        raise ScenarioError("scenario: values nested too deeply") from None
    check_consistency(scenario)
    return scenario


def with_overrides(scenario: Scenario, overrides: Mapping[str, Any]) -> Scenario:
    """A copy of ``scenario`` with dotted-key overrides, validated again."""
    # exclude_unset keeps track of which keys were given, for checks such as an ignored interval.
    return scenario_from_dict(scenario.model_dump(exclude_unset=True), overrides)


class PolicySwitched(UserWarning):
    """A sweep or a variant set the checkpoint interval of a scenario whose policy computes it: fixed intervals ran."""


def fixed_for_interval(scenario: Scenario, keys: Collection[str]) -> tuple[Scenario, str | None]:
    """``scenario`` ready for ``keys`` that set ``checkpoint.interval_minutes``, and the policy it replaced.

    A given interval means a fixed interval: under policy ``young`` or ``daly`` (which compute it,
    and refuse one given) the policy becomes ``fixed``, unless ``keys`` set the policy too.

    >>> s = load_scenario_text('name = "x"\\n[cluster]\\ngpus = 8\\n[checkpoint]\\npolicy = "daly"\\nwrite_seconds = 9')
    >>> fixed, was = fixed_for_interval(s, ["checkpoint.interval_minutes"])
    >>> fixed.checkpoint.policy, was, fixed_for_interval(fixed, ["checkpoint.interval_minutes"])[1]
    ('fixed', 'daly', None)
    """
    policy = scenario.checkpoint.policy
    if "checkpoint.interval_minutes" not in keys or "checkpoint.policy" in keys or policy == "fixed":
        return scenario, None
    return with_overrides(scenario, {"checkpoint.policy": "fixed"}), policy


def parse_value(text: str) -> Any:
    """A ``--set`` value: a TOML literal when it is one, else the text itself.

    >>> parse_value("20"), parse_value("1e5"), parse_value("true"), parse_value("daly"), parse_value("1\\nv2 = 3")
    (20, 100000.0, True, 'daly', '1\\nv2 = 3')
    """
    try:
        doc = tomllib.loads(f"v = {text}")
    except (ValueError, RecursionError):  # not TOML, a number too long to read, or nesting too deep
        return text
    # One literal only: text that smuggles in more keys is text.
    return doc["v"] if len(doc) == 1 else text


def parse_assignment(text: str) -> tuple[str, Any]:
    """Split ``KEY=VALUE`` from the command line."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ScenarioError(f"--set {shown(text)}: expected KEY=VALUE, e.g. checkpoint.interval_minutes=20")
    return key.strip(), parse_value(value.strip())


def set_key(data: dict[str, Any], key: str, value: Any) -> None:
    """Set dotted ``key`` in nested ``data``, refusing keys the scenario model does not have."""
    parts = key.split(".")
    model: Any = Scenario
    node: Any = data
    for i, part in enumerate(parts):
        where = clip_key(".".join(parts[: i + 1]))
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not (part.isascii() and part.isdigit()) or int(part) >= len(node):
                raise ScenarioError(f"{where}: no item {shown(part)} (there are {len(node)})")
            if last:
                node[int(part)] = value
                return
            node, model = node[int(part)], model
            continue
        fields = model.model_fields
        if part not in fields:
            raise ScenarioError(f"{where}: unknown key{_suggest(part, fields)}")
        if last:
            node[part] = value
            return
        annotation = fields[part].annotation
        if get_origin(annotation) is tuple:
            model = get_args(annotation)[0]
            node = node.setdefault(part, [])
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ScenarioError(f"{where}: is not a table")
        else:
            raise ScenarioError(f"{where}: is a value, not a table")


def _deep_copy(raw: Any) -> Any:
    if isinstance(raw, Mapping):
        return {k: _deep_copy(v) for k, v in raw.items()}
    if isinstance(raw, list | tuple):
        return [_deep_copy(v) for v in raw]
    return raw


def _suggest(name: str, valid: Mapping[str, Any] | list[str]) -> str:
    # A near miss is a typo of a short key; comparing a huge one to every key would only cost time.
    close = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.5) if len(name) <= KEY_CHARS else []
    return f" (did you mean {close[0]!r}?)" if close else f" (valid: {', '.join(valid)})"


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    model: Any = Scenario
    for part in loc:
        if isinstance(part, int):
            continue
        annotation = model.model_fields[part].annotation
        if get_origin(annotation) is tuple:
            annotation = get_args(annotation)[0]
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model  # type: ignore[no-any-return]


def _dotted(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return clip_key(out) or "scenario"


#: What a value of the wrong type must be, in the words of a scenario file (pydantic error type -> text).
_TYPE_WORDS = {
    "int_type": "must be a whole number (no quotes, no decimal point)",
    "float_type": "must be a number (no quotes)",
    "bool_type": "must be true or false",
    "string_type": "must be text in quotes",
    "finite_number": "must be a finite number",
    "tuple_type": "must be an array of tables ([[failure]] blocks)",
    "model_type": "must be a table",
    "dict_type": "must be a table",
}


def _describe(error: ValidationError) -> str:
    """The first problem of a pydantic error, as one line naming the key and the value."""
    err = error.errors()[0]
    loc = tuple(err["loc"])
    key = _dotted(loc)
    if err["type"] == "extra_forbidden":
        model = _model_at(loc[:-1])
        hint = _suggest(str(loc[-1]), model.model_fields) if model else ""
        return f"{key}: unknown key{hint}"
    if err["type"] == "missing":
        return f"{key}: required key is missing"
    if err["type"] in _TYPE_WORDS:
        msg = _TYPE_WORDS[err["type"]]
    elif err["type"] == "value_error":  # our own validators: their message, without pydantic's "Value error, "
        msg = str((err.get("ctx") or {}).get("error", err["msg"]))
    else:
        msg = err["msg"][0].lower() + err["msg"][1:]
    more = f" (and {error.error_count() - 1} more problems)" if error.error_count() > 1 else ""
    return f"{key}: {msg}, got {shown(err['input'])}{_percent_hint(err)}{more}"


def _percent_hint(err: Any) -> str:
    """For a fraction given as a percentage (an MFU of 40): what the fraction would be."""
    value, bound = err.get("input"), (err.get("ctx") or {}).get("le")
    if bound != 1 or isinstance(value, bool) or not isinstance(value, int | float) or not 1 < value <= 100:
        return ""
    return f" (a fraction: {value:g}% is {value / 100:g})"
