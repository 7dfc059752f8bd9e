"""The parts of ``luma-schema check`` (``luma_schema.cli`` is the command line itself): reading
the inputs, checking batches and counting the answers, hints, and the worker processes."""
