"""The LLM enricher: a model turns a ranked, evidence-backed incident into a report a
person acts on, and is never trusted further than its evidence (see :mod:`.enricher`)."""
