"""Review of registry changes between two revisions: semantic diff, semver policy, lint.

Everything here is core: it reads git objects and returns plain data
(:class:`~promptctl.review.report.Report`); the CLI only picks a renderer.
"""
