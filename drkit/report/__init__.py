"""What a run produced, for people and machines: the report model, its JSON form, and the console views.

The model lives here rather than in the engine so the renderers (which sit below the engine) can read it; the
engine builds it, and this package is the only one that formats anything for humans.
"""
