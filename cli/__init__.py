"""The ``promptctl`` command: a thin Typer layer over ``registry``."""
