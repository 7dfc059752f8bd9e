"""The parts of :mod:`luma_schema.strategies`: a catalogue read for building requests
(:mod:`.view`) and the values requests are made of (:mod:`.samples`); one field's value
(:mod:`.values`), media references (:mod:`.references`), tests made true or false
(:mod:`.conditions`); how to make each rule kind hold (:mod:`.hold`) and a request settled by
those ways (:mod:`.settle`); how to break each kind alone (:mod:`.break_request`,
:mod:`.break_reference`, :mod:`.break_structure`) and the table of every kind (:mod:`.kinds`)."""
