"""The one YAML reader of every user file (arch, recipe, sweep spec, energy table).

``yaml.safe_load`` alone accepts three things a user file should not get away with: a key given
twice (the last one silently wins), an alias bomb (a few hundred bytes whose expansion is
billions of nodes: every later walk over the data, or the error message quoting it, hangs), and
a file that is not UTF-8 (a ``UnicodeDecodeError`` traceback). Here all three are one
``InputError`` naming the file, before any value is used. Limits (docs/errors.md):
``MAX_YAML_BYTES`` of file and ``MAX_YAML_NODES`` of expanded nodes (aliases counted every
time they are used).
"""

from __future__ import annotations

import os
from pathlib import Path

from accelsim.common.errors import MAX_YAML_BYTES, MAX_YAML_NODES, InputError
from accelsim.common.fsio import read_text_input

try:  # the C parser when PyYAML has it; the constructor (where the checks live) is Python
    import yaml
    _Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
except ImportError:  # pragma: no cover - PyYAML is a dependency
    raise


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key, line: int):
        super().__init__(f"key {key!r} given twice (line {line})")
        self.key, self.line = key, line


class _StrictLoader(_Base):
    """SafeLoader that refuses a mapping key given twice (merge keys ``<<`` may override)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    continue  # the base constructor reports an unhashable key
                if key in seen:
                    raise _DuplicateKey(key, key_node.start_mark.line + 1)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _expanded_nodes(root, limit: int) -> int:
    """Nodes of the document with every alias expanded (memoized per shared node, so a bomb is
    measured in time proportional to its text, not its expansion); stops counting at ``limit``.
    A recursive alias (a node containing itself) counts as over the limit."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()

    def size(node) -> int:
        k = id(node)
        if k in sizes:
            return sizes[k]
        if k in on_path:
            return limit + 1
        on_path.add(k)
        n = 1
        if isinstance(node, yaml.SequenceNode):
            for child in node.value:
                n += size(child)
                if n > limit:
                    break
        elif isinstance(node, yaml.MappingNode):
            for kn, vn in node.value:
                n += size(kn) + size(vn)
                if n > limit:
                    break
        on_path.discard(k)
        sizes[k] = n
        return n

    return size(root)


def load_yaml(path: str | os.PathLike, what: str = "YAML file"):
    """The parsed content of a user YAML file (safe types only), or ``InputError``."""
    src = str(path)
    text = read_text_input(Path(path), what, max_bytes=MAX_YAML_BYTES)
    return loads_yaml(text, src)


def loads_yaml(text: str, src: str):
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_nodes(node, MAX_YAML_NODES) > MAX_YAML_NODES:
            raise InputError(f"YAML expands to more than {MAX_YAML_NODES:,} nodes (aliases "
                             "counted each time they are used, or an alias that contains "
                             "itself); see docs/errors.md", source=src)
        return loader.construct_document(node)
    except _DuplicateKey as exc:
        raise InputError(f"key {exc.key!r} given twice in one mapping (line {exc.line}); "
                         "remove one", source=src) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"malformed YAML: {problem}{where}", source=src) from None
    except RecursionError:
        raise InputError("YAML nested too deeply", source=src) from None
    finally:
        loader.dispose()
