"""The promptctl version, in a module of its own so that any part (the SDK's telemetry
reporter included) can read it without importing the package or its metadata: reading the
installed distribution's metadata costs an app about 80 ms at start."""

__version__ = "0.1.0"
