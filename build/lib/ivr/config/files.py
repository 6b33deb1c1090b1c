"""A configuration as a set of files in memory: read once from a folder, written back atomically.

Publishing validates the bytes it read, not the folder, so a file that changes while it is being
published can never go live unchecked. A release is written into its own folder under a
temporary name and renamed into place, so a reader never sees half of one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from ivr.core.errors import ConfigError, Problem

FOLDERS = ("flows", "schedules")
MAX_FILE_BYTES = 1024 * 1024  # configuration files are a few kilobytes; anything this large is a mistake

Files = dict[str, bytes]  # "schedules/wiltshire.yaml" -> its bytes


def read_files(directory: Path) -> Files:
    """Every flows/*.yaml and schedules/*.yaml under `directory`; refuses what must not be read."""
    problems: list[Problem] = []
    files: Files = {}
    root = directory.resolve()
    for folder in FOLDERS:
        for path in sorted((directory / folder).glob("*.yaml")):
            name = f"{folder}/{path.name}"
            try:
                real = path.resolve(strict=True)
                if not real.is_relative_to(root):
                    problems.append(
                        Problem(name, 0, "", f"is a link to {real}, outside the configuration folder; copy the file in")
                    )
                    continue
                size = real.stat().st_size
                if size > MAX_FILE_BYTES:
                    problems.append(Problem(name, 0, "", f"is {size:,} bytes; a configuration file may be at most 1 MiB"))
                    continue
                files[name] = real.read_bytes()
            except OSError as exc:
                problems.append(Problem(name, 0, "", f"cannot be read: {exc.strerror or exc}"))
    if problems:
        raise ConfigError(problems)
    return files


def digest_of(files: Files) -> str:
    """A name for exactly these files (names and contents)."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return digest.hexdigest()[:16]


def write_folder(files: Files, target: Path) -> Path:
    """Write `files` into the folder `target` (made whole, then renamed into place); returns it."""
    if target.is_dir():
        return target  # a release's folder never changes once written
    target.parent.mkdir(parents=True, exist_ok=True)
    draft = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for folder in FOLDERS:
            (draft / folder).mkdir()
        for name, body in files.items():
            (draft / name).write_bytes(body)
        os.rename(draft, target)
    except OSError:
        shutil.rmtree(draft, ignore_errors=True)
        if not target.is_dir():  # another process may have written the same release first
            raise
    return target


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` so that a reader sees the old or the new file, never a part."""
    write_bytes_atomically(path, text.encode("utf-8"))


def write_bytes_atomically(path: Path, body: bytes) -> None:
    """Replace `path` with `body` so that a reader sees the old or the new file, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, draft = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        os.replace(draft, path)
    except BaseException:
        Path(draft).unlink(missing_ok=True)
        raise
