"""Write files so that a crash never leaves half a file that is later trusted."""

# --8<-- [start:atomic_write]
import os
import secrets
from pathlib import Path


def atomic_write(path, write, mode="wb"):
    """Call ``write(file)`` on a temporary file next to ``path``, then move it onto ``path``.

    ``os.replace`` is atomic within one directory, so readers see either the
    old file or the complete new one, never half a file. On any error the
    temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: directory {path.parent} does not exist")
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    # O_EXCL: never clobber another file; 0o666 then the umask: usual permissions
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
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
