"""The ``ganzoo`` command (console script and ``python -m ganzoo``): ``ganzoo fit ...`` trains
one run (:mod:`ganzoo.cli`); ``ganzoo sweep | table | verdict | reproduce | calibrate | compare | resume | report`` are the benchmark
commands (:mod:`ganzoo.bench`). A user error prints one line and exits with status 2; output
piped into a reader that stops early (``ganzoo sweep FILE --dry-run | head``, ``ganzoo fit
--print_config | head``) ends the command quietly with status 1."""

import os
import sys

from ganzoo import bench, cli
from ganzoo.errors import one_line_errors

BENCH_COMMANDS = ("sweep", "table", "verdict", "reproduce", "calibrate", "compare", "resume", "tune",
                  "report")


def bench_command(words: list[str]) -> int:
    """A benchmark command's exit status; ``bench`` places runs with the CLI's own parser."""
    return bench.main(words, locate=cli.planned_location)


def main(argv: list[str] | None = None) -> None:
    words = sys.argv[1:] if argv is None else argv
    try:
        if words and words[0] in BENCH_COMMANDS:
            with one_line_errors():
                sys.exit(bench_command(words))
        cli.main(argv)
    except BrokenPipeError:  # the reader closed the pipe: nobody reads the rest
        # Python flushes stdout again at exit, which would raise once more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


if __name__ == "__main__":
    main()
