"""``python -m nnfs ...``: the same command line as the ``nnfs`` script."""

from nnfs.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
