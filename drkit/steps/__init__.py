"""Step kinds: one module per kind, each with a schema, a `plan()` that writes nothing and a `run()`.

The registry (`drkit.steps.registry`) lists every kind explicitly; adding a kind is one module plus one
line there.
"""
