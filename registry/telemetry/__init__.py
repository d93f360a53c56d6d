"""Outcome telemetry: what the SDK reports about each LLM call, and about itself.

- :mod:`promptctl.telemetry.buckets`: latency buckets that merge by addition, so a p95 can
  be computed over any number of windows and instances;
- :mod:`promptctl.telemetry.window`: one window's aggregate per (prompt, version, variant);
- :mod:`promptctl.telemetry.recorder`: ``track()`` (a bounded queue append: no lock, no I/O)
  and the aggregation the background thread does;
- :mod:`promptctl.telemetry.reporter`: the background thread that flushes windows and the
  instance's fleet record to ``POST /v1/envs/{env}/outcomes``.

Everything here is standard library only: the SDK imports it. ``jsonschema`` loads on the
background thread, and only once an output (or a tool call) is given to check.
"""
