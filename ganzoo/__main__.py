"""`python -m ganzoo ...` is the same as the `ganzoo` console script."""

from ganzoo.cli import main

if __name__ == "__main__":
    main()
