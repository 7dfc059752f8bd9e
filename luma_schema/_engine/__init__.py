"""The engine's parts: reading a request against the field table (:mod:`.reading`), the full
diagnosis (:mod:`.diagnose`), the normalised request (:mod:`.normal`) and the compiled paths
(:mod:`.compile`, their reference lanes in :mod:`.lanes`, their tests in :mod:`.checks`).
``luma_schema.engine`` puts them together."""
