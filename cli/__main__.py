"""``python -m cli`` runs promptctl (useful where the console script is not on PATH)."""

from cli.app import main

main()
