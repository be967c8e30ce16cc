"""Metrics in files of their own: each module here registers its metrics on import
(``@ganzoo.metrics.registry.register``). :mod:`ganzoo.metrics.builtin` imports every module of
this package, in name order, after its own metrics (the tables' column order), so a new metric
is one file here and its test: no list names it."""
