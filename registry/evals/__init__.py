"""Eval suites: the fifth artifact kind (``*.eval.yaml``), its runner and its gate.

Submodules: ``vocabulary`` (assertion names, promptfoo's where it has one), ``suite`` (the
artifact model), ``dataset`` (cases in a JSONL/YAML file beside the suite), ``assertions``,
``providers`` (the :class:`~promptctl.evals.providers.base.Provider` protocol; ``python``
and ``replay``), ``cache``, ``runner``, ``results``, ``comparison`` and ``gate``.

Importing this package loads nothing: the CLI's start-up stays light.
"""
