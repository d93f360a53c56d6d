"""Import prompts written for other tools into promptctl files.

Each importer reads a source folder and returns an :class:`~promptctl.importers.plan.
ImportPlan`: the files to write (the YAML of each artifact and the text of each message,
byte for byte) and the notes on what did not map. Plans are deterministic, so running an
import again writes nothing.
"""
