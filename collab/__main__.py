"""`python -m collab ...` (and `torchrun ... -m collab ...`): the command line, see `collab.cli`."""

from collab.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
