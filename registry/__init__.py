"""promptctl core: a git-backed registry of versioned LLM prompts.

The core knows nothing of Typer or HTTP. Data flows one way:
files -> model objects -> store -> rollout -> resolver -> API/SDK.
"""

__version__ = "0.1.0"
