"""The YAML dialect of the repository's files: the YAML 1.2 core schema, read safely.

Reading (``parse``) gives plain data (dict, list, str, int, float, bool, None):

- implicit types are the YAML 1.2 core schema's only: ``true``/``false``, ``null``/``~``/empty,
  integers (``42``, ``0o17``, ``0x1F``) and floats (``0.5``, ``1e3``, ``.inf``, ``.nan``).
  Every other plain scalar is a string: ``yes``, ``on``, ``NO``, ``2024-01-01``, ``1_000``,
  ``1:30``. (PyYAML's YAML 1.1 defaults would read those as booleans, dates and numbers: the
  "Norway problem".) Explicit tags are limited to the same core types;
- no aliases (``*name``): a file needs none, and they can expand a small file into a huge value;
- no duplicate keys: the last one would silently win.

Writing (``dump``): block style with keys in the given order, lists of scalars inline
(``tags: [risk, limits]``), multi-line strings as literal blocks, no anchors, and every string
that a YAML 1.2 *or* 1.1 reader could take for another type quoted (``'1e3'``, ``'yes'``,
``'2024-01-01'``), so that every tool reads the file as gitconfig does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, ClassVar

import yaml

from gitconfig.core import limits, yamlplain
from gitconfig.core.text import is_text

_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\Z")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\Z"
)
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)\Z")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)\Z")
_DIGITS = list("-+0123456789")

_TAG = "tag:yaml.org,2002:"


class YamlError(ValueError):
    """The bytes are not a YAML document of this dialect; the message says where and why."""


class _Loader(yaml.SafeLoader):
    # PyYAML's resolver table is a class attribute by design (its stubs call it an instance
    # variable, so ClassVar does not type-check): this loader's own, YAML 1.2's, not 1.1's.
    yaml_implicit_resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}  # noqa: RUF012
    yaml_constructors: ClassVar[dict[Any, Any]] = {}  # core types only

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed", mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: set[tuple[type, object]] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                try:
                    marker = (type(key), key)
                    duplicate = marker in seen
                except TypeError:
                    continue  # unhashable: the base class reports it
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark
                    )
                seen.add(marker)
        return super().construct_mapping(node, deep=deep)


def _int_value(text: str) -> int:
    """A core-schema integer (``42``, ``0o17``, ``0x1F``); ValueError if ``text`` is none, or
    has more digits than Python converts (sys.int_info)."""
    if _INT.match(text) is None:
        raise ValueError(text)
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text)


def _float_value(text: str) -> float:
    """A core-schema float (``0.5``, ``1e3``, ``.inf``, ``.nan``); ValueError if not one."""
    if _FLOAT.match(text) is None:
        raise ValueError(f"not a float: {text!r}")
    if text.lower().endswith("inf"):
        return -math.inf if text.startswith("-") else math.inf
    if text.lower() == ".nan":
        return math.nan
    return float(text)


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    try:
        return _int_value(loader.construct_scalar(node))
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"not an integer of 4300 digits or fewer: {exc}", node.start_mark
        ) from exc


def _construct_float(loader: _Loader, node: yaml.ScalarNode) -> float:
    try:
        return _float_value(loader.construct_scalar(node))
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(None, None, str(exc), node.start_mark) from exc


_RESOLVED_FIRST = frozenset([*"tTfF-+0123456789.~nN", ""])  # "": null


def _resolve_plain(text: str) -> Any:
    """A plain scalar's value by the rules ``_Loader`` registers below, in their order: a
    resolver is tried when the text starts with one of its first characters (PyYAML's
    ``Resolver.resolve``). Raises ValueError where the constructor would fail."""
    first = text[:1]
    if first not in _RESOLVED_FIRST:  # most strings: no resolver starts with it
        return text
    if first in "tTfF" and _BOOL.match(text):
        return text.lower() == "true"
    if first in "-+0123456789":
        if _INT.match(text):
            return _int_value(text)
        if _FLOAT.match(text):
            return _float_value(text)
    if first == "." and _FLOAT.match(text):
        return _float_value(text)
    if first in ("~", "n", "N", "") and _NULL.match(text):
        return None
    return text


for _tag, _regexp, _first in (
    ("bool", _BOOL, list("tTfF")),
    ("int", _INT, _DIGITS),
    ("float", _FLOAT, [*_DIGITS, "."]),
    ("null", _NULL, ["~", "n", "N", ""]),
):
    _Loader.add_implicit_resolver(_TAG + _tag, _regexp, _first)

_CONSTRUCTORS: dict[str | None, Callable[[_Loader, Any], Any]] = {
    "null": _Loader.construct_yaml_null,
    "bool": _Loader.construct_yaml_bool,
    "int": _construct_int,
    "float": _construct_float,
    "str": _Loader.construct_yaml_str,
    "seq": _Loader.construct_yaml_seq,
    "map": _Loader.construct_yaml_map,
    None: _Loader.construct_undefined,  # any other tag: "could not determine a constructor"
}
for _name, _constructor in _CONSTRUCTORS.items():
    _Loader.add_constructor(_name and _TAG + _name, _constructor)


if yaml.__with_libyaml__:  # libyaml scans, parses and composes; we resolve and construct
    from yaml._yaml import CParser

    class _FastLoader(CParser, _Loader):
        """libyaml's scanner, parser and composer (in C) with this dialect's resolvers and
        constructors. libyaml composes an alias as a second reference to the anchored node;
        a document where some node is reached twice is read again by the Python loader,
        which refuses the alias with its exact position."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    def _load(text: str) -> Any:
        loader = _FastLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            if "*" in text and _reached_twice(node):  # no "*", no alias
                return yaml.load(text, Loader=_Loader)  # raises: aliases are not allowed
            return loader.construct_document(node)
        finally:
            loader.dispose()

    def _reached_twice(root: yaml.Node) -> bool:
        seen: set[int] = set()
        pending = [root]
        while pending:
            node = pending.pop()
            if id(node) in seen:
                return True
            seen.add(id(node))
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    pending.append(key)
                    pending.append(value)
            elif isinstance(node, yaml.SequenceNode):
                pending.extend(node.value)
        return False

else:  # pragma: no cover - PyYAML wheels ship libyaml

    def _load(text: str) -> Any:
        return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader


def _message(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}"
        context = f"{exc.context}, " if exc.context else ""
        return f"not valid YAML ({where}): {context}{exc.problem}"
    return f"not valid YAML: {exc}"


def parse(data: bytes) -> Any:
    """The data of one YAML document (UTF-8, an optional BOM); raises ``YamlError``."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise YamlError(f"not UTF-8 text: {exc}") from exc
    deepest = limits.current().depth + 1  # the file's own mapping is one level
    plain = yamlplain.read(text, _resolve_plain)  # the plainest files, without libyaml
    if plain is not None:
        found, depth = plain
        if depth > deepest:
            raise YamlError(f"the value nests more than {deepest - 1} levels of lists and mappings")
        return found
    try:
        data = _load(text)
    except yaml.YAMLError as exc:
        raise YamlError(_message(exc)) from exc
    except RecursionError as exc:
        raise YamlError("not valid YAML: nested too deeply") from exc
    if "\\" in text:  # a lone surrogate can only come from an escape ("\\ud800")
        _check_unicode(data)
    if limits.depth(data, deepest) > deepest:
        raise YamlError(f"the value nests more than {deepest - 1} levels of lists and mappings")
    return data


def _check_unicode(data: Any) -> None:
    """A double-quoted ``"\\ud800"`` makes a lone surrogate: not text, and not writable."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str) and not is_text(item):
            raise YamlError(f"not valid YAML: {item!r} holds a lone surrogate, not text")


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # list items indented under their key


# Quote strings that YAML 1.2 reads as numbers. SafeDumper already quotes YAML 1.1's types
# (bool, int in every base, sexagesimal, float, null, timestamp, merge ``<<``, value ``=``)
# except the one-letter booleans y, Y, n and N of the YAML 1.1 type list, which go-yaml v2
# and other 1.1 readers take for true/false.
_Dumper.add_implicit_resolver(_TAG + "int", _INT, _DIGITS)
_Dumper.add_implicit_resolver(_TAG + "float", _FLOAT, [*_DIGITS, "."])
_Dumper.add_implicit_resolver(_TAG + "bool", re.compile(r"^(?:y|Y|n|N)\Z"), list("yYnN"))

_SCALARS = (str, int, float, bool, type(None))
_OTHER_BREAKS = re.compile(r"[\r\x85\u2028\u2029]")  # line breaks to YAML 1.1 besides \n


def _represent_str(dumper: _Dumper, data: str) -> yaml.ScalarNode:
    if _OTHER_BREAKS.search(data):
        style: str | None = '"'  # escaped: a reader would turn them into "\n" or " "
    else:
        style = "|" if "\n" in data else None  # the emitter falls back to quotes if it must
    return dumper.represent_scalar(_TAG + "str", data, style=style)


def _represent_list(dumper: _Dumper, data: list[Any]) -> yaml.SequenceNode:
    inline = all(isinstance(item, _SCALARS) and "\n" not in str(item) for item in data)
    return dumper.represent_sequence(_TAG + "seq", data, flow_style=inline)


def _represent_dict(dumper: _Dumper, data: dict[Any, Any]) -> yaml.MappingNode:
    inline = list(data) == ["$ref"]  # schema: {$ref: schemas/positive-number.json}
    return dumper.represent_mapping(_TAG + "map", data.items(), flow_style=inline)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(dict, _represent_dict)


def dump(data: dict[str, Any]) -> bytes:
    """``data`` as a YAML document (UTF-8) that ``parse`` reads back equal."""
    text = yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=2**31 - 1,  # never fold long strings: one line per value keeps diffs readable
    )
    return text.encode("utf-8")
