"""``python -m promptctl.cli`` runs promptctl (useful where the console script is not on PATH)."""

from promptctl.cli.app import main

main()
