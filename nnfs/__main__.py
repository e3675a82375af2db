"""``python -m nnfs ...``: the same command line as the ``nnfs`` script."""

import sys

try:  # a Ctrl-C while the command line's own modules import is one line too
    from nnfs.cli import main
except KeyboardInterrupt:
    print("nnfs: interrupted", file=sys.stderr)
    raise SystemExit(130) from None

if __name__ == "__main__":
    raise SystemExit(main())
