"""Write files so that a crash never leaves half a file that is later trusted.

Every writer goes through :func:`atomic_write`, which refuses a target that is
not a regular file (a device, a FIFO, a directory, or a symlink to one), so a
command can never replace ``/dev/null`` or write into a pipe. Commands call
:func:`check_output` first, before any slow work, which also refuses a target
that is one of the command's own inputs and checks that the directory can be
written, naming the path the user gave.
"""

# --8<-- [start:atomic_write]
import os
import secrets
import stat
from pathlib import Path

_KINDS = {stat.S_ISDIR: "a directory", stat.S_ISCHR: "a character device", stat.S_ISBLK: "a block device",
          stat.S_ISFIFO: "a FIFO (named pipe)", stat.S_ISSOCK: "a socket"}


def _target(path, label):
    """The real file ``path`` names (symlinks followed): ValueError unless it is regular or new."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode  # follows symlinks: a link to /dev/null is refused too
    except FileNotFoundError:
        if path.is_symlink():
            raise ValueError(f"{label}: is a symbolic link to a missing file; refusing to replace it") from None
        return path  # a new file
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS.items() if test(mode)), "not a regular file")
        raise ValueError(f"{label}: is {kind}, not a regular file; refusing to write there")
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def atomic_write(path, write, mode="wb"):
    """Call ``write(file)`` on a temporary file next to ``path``, then move it onto ``path``.

    ``os.replace`` is atomic within one directory, so readers see either the
    old file or the complete new one, never half a file. On any error the
    temporary file is removed and ``path`` is left as it was. A target that
    exists must be a regular file (a symlink to one is followed); anything
    else raises ValueError before a byte is written.
    """
    path = _target(path, f"cannot write {path}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: directory {path.parent} does not exist")
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:  # O_EXCL: never clobber another file; 0o666 then the umask: usual permissions
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as err:  # name the user's path, not the hidden temporary one
        raise type(err)(f"cannot write {path}: {err.strerror} (in {path.parent})") from None
    try:
        with open(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())  # the bytes are on disk before the rename
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
# --8<-- [end:atomic_write]


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):  # a missing input is reported by its reader
        return False


def check_output(path, inputs=(), label="--out"):
    """Check, before any work, that ``path`` can be written: ValueError or FileNotFoundError if not.

    Refused: a device, FIFO, socket or directory (or a symlink to one); the same
    file (same inode, so hard links too) as any of ``inputs``; a directory that
    does not exist or cannot be written (tried by creating and removing an empty
    hidden file). Messages start with ``label`` and the path as given.
    """
    where = f"{label} {path}"
    target = _target(path, where)
    for source in inputs:
        if source is not None and _same_file(target, source):
            raise ValueError(f"{where}: is the input file {source}; refusing to overwrite an input")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"{where}: directory {target.parent} does not exist")
    probe = target.parent / f".{target.name}.{secrets.token_hex(4)}.probe"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.unlink(probe)
    except OSError as err:
        raise ValueError(f"{where}: cannot create a file in {target.parent} ({err.strerror})") from None
    return target
