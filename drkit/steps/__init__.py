"""Step kinds: one module per kind (its schema, settings, a `plan()` that writes nothing and a `run()`), and
the plumbing they share (`base`, `settings`, `selectors`, `sources`, `access`, `waves`, `awaiting`, ...).

The registry (`drkit.steps.registry`) lists every kind explicitly; adding a kind is one module plus one
line there. Kinds do not import one another (an import-linter contract); procedures several of them and the
on-call commands share live in `drkit.domain`.
"""
