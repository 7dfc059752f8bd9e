"""The parts of :mod:`luma_schema.strategies`: a catalogue read for building requests
(:mod:`.view`), and the values requests are made of (:mod:`.samples`)."""
