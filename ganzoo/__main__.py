"""The ``ganzoo`` command (console script and ``python -m ganzoo``): ``ganzoo fit ...`` trains
one run (:mod:`ganzoo.cli`); ``ganzoo sweep | table | reproduce | compare | resume`` are the benchmark
commands (:mod:`ganzoo.bench`). A user error prints one line and exits with status 2."""

import sys

from ganzoo import bench, cli
from ganzoo.errors import one_line_errors

BENCH_COMMANDS = ("sweep", "table", "reproduce", "compare", "resume")


def main(argv: list[str] | None = None) -> None:
    words = sys.argv[1:] if argv is None else argv
    if words and words[0] in BENCH_COMMANDS:
        with one_line_errors():
            sys.exit(bench.main(words))
    cli.main(argv)


if __name__ == "__main__":
    main()
