"""The line budgets of issue 24, measured on the working tree.

    .venv/bin/python benchmarks/line_budgets.py

Prints the non-blank lines of ``ganzoo/models/base.py`` (budget 400), of each variant module
and each trick module (100 each), the base constructor's parameter count (15), and the lines
of ``training_step``, ``discriminator_step`` and ``generator_step`` together (70), with
whether any of them reads ``self.hparams`` (none may), and the YAML lines of each variant
config over its benchmark's ``_base.yaml`` (15). Exits 1 if a budget is exceeded.
"""

from __future__ import annotations

import ast
import inspect
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ganzoo.models import VARIANTS, GANModule  # noqa: E402

LOOP = ("training_step", "discriminator_step", "generator_step")


def non_blank(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip())


def main() -> int:
    over = []

    def row(name: str, value: int, budget: int) -> None:
        flag = "" if value <= budget else "  OVER"
        if flag:
            over.append(name)
        print(f"{name:<44} {value:>5}  (budget {budget}){flag}")

    models = ROOT / "ganzoo" / "models"
    row("ganzoo/models/base.py non-blank lines", non_blank(models / "base.py"), 400)
    params = [p for p in inspect.signature(GANModule.__init__).parameters if p != "self"]
    row("GANModule.__init__ parameters", len(params), 15)
    tree = ast.parse((models / "base.py").read_text())
    methods = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    loop_lines = sum(methods[m].end_lineno - methods[m].lineno + 1 for m in LOOP)
    row(" + ".join(LOOP) + " lines", loop_lines, 70)
    reads = [m for m in LOOP if "self.hparams" in ast.get_source_segment(
        (models / "base.py").read_text(), methods[m])]
    print(f"{'  ... reading self.hparams':<44} {', '.join(reads) or 'none'}")
    if reads:
        over.append("self.hparams in the loop")
    modules = sorted({Path(inspect.getfile(cls)) for cls in VARIANTS.values()})
    for path in modules:
        row(f"ganzoo/models/{path.name}", non_blank(path), 100)
    for path in sorted((ROOT / "ganzoo" / "tricks").glob("*.py")):
        if path.name != "__init__.py":
            row(f"ganzoo/tricks/{path.name}", non_blank(path), 100)
    for path in sorted((ROOT / "ganzoo" / "training").glob("*.py")):
        if path.name != "__init__.py":
            print(f"{'ganzoo/training/' + path.name:<44} {non_blank(path):>5}")
    for path in sorted((ROOT / "experiments").glob("*.yaml")):
        yaml_lines = sum(1 for line in path.read_text().splitlines()
                         if line.strip() and not line.lstrip().startswith("#"))
        row(f"experiments/{path.name} YAML lines", yaml_lines, 15)
    print("over budget: " + (", ".join(over) if over else "none"))
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
