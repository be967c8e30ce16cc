"""The theory lab: numerical checks of the seed notes' results (``labs/theory.py``, reported by
``labs/theory_report.py``) and diagnostics of single tricks. Outside the ``ganzoo`` package:
these are clients of ganzoo, not parts of it; run them from the repository root."""
