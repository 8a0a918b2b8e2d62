"""Atomic file and folder writes, and the rules that keep a user's files safe.

A reader never sees a half-written output, and a failed run leaves what was there before
untouched (write to a temporary, then rename). An output folder carries a manifest
(``.accelsim-manifest.json``) of the entries accelsim wrote there; rewriting the folder replaces
only those and never touches anything else. A non-empty folder accelsim did not write (no
manifest), ``.`` or a folder holding the current directory, and an existing file are refused
with one line before any work; ``--force`` lets accelsim write into such a folder (still
replacing only its own entries, never removing one of the user's). A file is never turned into
a folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from accelsim.common.errors import MAX_TEXT_BYTES, InputError, require

MANIFEST = ".accelsim-manifest.json"
_STAGING = ".accelsim-new."
_TRASH = ".accelsim-old."


# ---- reading user files --------------------------------------------------------------------

def read_text_input(path: str | os.PathLike, what: str = "file",
                    max_bytes: int = MAX_TEXT_BYTES) -> str:
    """A user's text file as str: a missing, unreadable, oversized or non-UTF-8 file is one
    ``InputError`` naming it (a leading BOM is dropped)."""
    path = Path(path)
    src = str(path)
    try:
        size = path.stat().st_size
        require(size <= max_bytes, f"{what} is larger than the limit of {max_bytes:,} bytes "
                "(docs/errors.md)", source=src, field="size", value=size)
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"no such {what}", source=src) from None
    except IsADirectoryError:
        raise InputError(f"is a folder; expected a {what}", source=src) from None
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", source=src) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line})",
                         source=src) from None


def safe_name(name: str, *, source: str | None = None, field: str = "name") -> str:
    """``name`` if it can be one file name (no separator, no ``..``, no control character);
    names become files (reports/layers/<arch>__<net>.md, traces/<layer>/)."""
    require(isinstance(name, str) and name.strip() != "",
            "must be a non-empty string", source=source, field=field, value=name)
    require(name not in (".", "..") and not any(ch in name for ch in "/\\")
            and all(ord(ch) >= 32 and ord(ch) != 127 for ch in name) and len(name) <= 200,
            "cannot be a file name (no '/', '\\', control characters, '.' or '..'; at most "
            "200 characters)", source=source, field=field, value=name)
    return name


# ---- single files --------------------------------------------------------------------------

def _check_parent(path: Path) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError("is a file, not a folder", source=str(parent)) from None
    except OSError as exc:
        raise InputError(f"cannot create folder: {exc.strerror}", source=str(parent)) from None
    if not os.access(parent, os.W_OK):
        raise InputError("folder is not writable", source=str(parent))


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    path = Path(path)
    require(not path.is_dir(), "is a folder; expected a file name", source=str(path))
    _check_parent(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror}", source=str(path)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def dumps_json(obj) -> str:
    """Indented JSON with a final newline; a NaN or an infinity is a bug (it is not JSON)."""
    try:
        return json.dumps(obj, indent=2, allow_nan=False) + "\n"
    except ValueError as exc:
        raise RuntimeError(f"non-finite number in a JSON output ({exc})") from None


# ---- output folders ------------------------------------------------------------------------

def read_manifest(path: Path) -> list[str] | None:
    """The entries accelsim wrote in folder ``path``, or None when it has no manifest."""
    m = path / MANIFEST
    if not m.is_file():
        return None
    try:
        d = json.loads(m.read_text(encoding="utf-8"))
        entries = d["entries"]
        assert isinstance(entries, list) and all(isinstance(e, str) for e in entries)
    except (OSError, ValueError, KeyError, TypeError, AssertionError):
        raise InputError(f"damaged {MANIFEST}; remove the folder or pass --force",
                         source=str(path)) from None
    return [e for e in entries if e and "/" not in e and e not in (".", "..", MANIFEST)]


def _write_manifest(path: Path, entries) -> None:
    write_text_atomic(path / MANIFEST, json.dumps(
        {"written_by": "accelsim", "entries": sorted(set(entries))}, indent=1) + "\n")


def _foreign(path: Path, manifest, keep=()) -> list[str]:
    """Entries of ``path`` accelsim did not write (its own leftovers, and ``keep``, the entries
    other tools own there, excluded)."""
    own = set(manifest or ()) | {MANIFEST} | set(keep)
    return sorted(e.name for e in path.iterdir()
                  if e.name not in own and not e.name.startswith((_STAGING, _TRASH)))


def check_out_dir(path: str | os.PathLike, force: bool = False, field: str = "--out",
                  keep: tuple[str, ...] = ()) -> Path:
    """Refuse, before any work, an output folder whose rewrite could lose a user's file.

    An existing file is always refused (it is never turned into a folder). Without ``force``:
    ``.`` or any folder holding the current directory, and a folder holding entries accelsim
    did not write (not in its manifest, not in ``keep``).
    """
    path = Path(path)
    src = str(path)
    require(src.strip() != "", "empty path", field=field, value=src)
    if path.exists() and not path.is_dir():
        raise InputError("exists and is not a folder; give a folder name", field=field,
                         value=src)
    try:
        resolved, cwd = path.resolve(), Path.cwd().resolve()
    except OSError as exc:
        raise InputError(f"cannot resolve: {exc.strerror}", field=field, value=src) from None
    for parent in resolved.parents:
        if parent.exists() and not parent.is_dir():
            raise InputError(f"{parent} is a file, not a folder", field=field, value=src)
    if force:
        return path
    if resolved == cwd or resolved in cwd.parents:
        raise InputError("is the current folder or holds it; give a folder of its own (or "
                         "--force to write accelsim's files into it)", field=field, value=src)
    if path.is_dir():
        try:
            foreign = _foreign(path, read_manifest(path), keep)
        except OSError as exc:
            raise InputError(f"cannot list: {exc.strerror}", field=field, value=src) from None
        if foreign:
            raise InputError(f"folder has files accelsim did not write ({', '.join(foreign[:3])}"
                             f"{', ...' if len(foreign) > 3 else ''}); give a new or empty "
                             "folder (or --force to add accelsim's files beside them)",
                             field=field, value=src)
    return path


def _tmpdir(prefix: str, where: Path) -> Path:
    try:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=where))
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror}", source=str(where)) from None
    # mkdtemp makes the folder 0700; give the finished folder the user's normal mode
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)
    return tmp


@contextmanager
def atomic_dir(path: str | os.PathLike, keep: tuple[str, ...] = (), force: bool = False):
    """Yield an empty staging folder; on success its entries become ``path``'s.

    A new ``path`` appears whole (one rename). In an existing one, only the entries of its
    manifest are replaced or removed, each by a rename; everything else is left as it is.
    ``keep``: entries other tools write there (e.g. reports/validation/), accepted in the folder
    without ``force``; like every entry accelsim did not write, they are never touched. On any
    exception in the body the staging folder is removed and ``path`` keeps its old content.
    """
    path = check_out_dir(path, force=force, keep=keep)
    _check_parent(path)
    if not path.exists():
        tmp = _tmpdir(f".{path.name}.", path.parent)
        try:
            yield tmp
            _write_manifest(tmp, [e.name for e in tmp.iterdir()])
            os.rename(tmp, path)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if path.exists():  # another run made it meanwhile: never merge into it blindly
                raise InputError("was created by someone else while this run worked; run "
                                 "again", source=str(path)) from None
            raise InputError(f"cannot write: {exc.strerror}", source=str(path)) from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return
    if not os.access(path, os.W_OK):
        raise InputError("folder is not writable", source=str(path))
    tmp = _tmpdir(_STAGING, path)
    try:
        yield tmp
        _commit(path, tmp, force)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _commit(path: Path, staged: Path, force: bool) -> None:
    old = read_manifest(path) or []
    new = sorted(e.name for e in staged.iterdir())
    clash = [n for n in new if n not in old and (path / n).exists()]
    require(force or not clash, f"would replace {', '.join(clash)}, which accelsim did not "
            "write (pass --force to replace it)", source=str(path))
    # list old and new first: a crash part-way leaves every entry accelsim wrote in the manifest
    _write_manifest(path, set(old) | set(new))
    trash = _tmpdir(_TRASH, path)
    try:
        for name in new:
            src, dst = staged / name, path / name
            if src.is_file() and dst.is_file() and not dst.is_symlink():
                os.replace(src, dst)  # one atomic step for a plain file
            else:
                if dst.exists() or dst.is_symlink():
                    os.rename(dst, trash / name)
                os.rename(src, dst)
        for name in sorted(set(old) - set(new)):
            stale = path / name
            if stale.exists() or stale.is_symlink():
                os.rename(stale, trash / name)
        _write_manifest(path, new)
    finally:
        shutil.rmtree(trash, ignore_errors=True)
