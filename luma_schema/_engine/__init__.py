"""The engine's parts: reading a request against the field table (:mod:`.reading`), the full
diagnosis (:mod:`.diagnose`) and the compiled paths (:mod:`.compile`).  ``luma_schema.engine``
puts them together."""
