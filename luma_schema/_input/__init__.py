"""Reading payloads: JSON text (:mod:`.json_text`) and Python values (:mod:`.python`)."""
