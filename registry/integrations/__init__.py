"""Bridges to other tools' standards (OpenTelemetry, OpenFeature).

Each module imports its library only when it is imported itself, and nothing in the SDK
imports these modules, so an app that does not use them never loads those libraries.
"""
