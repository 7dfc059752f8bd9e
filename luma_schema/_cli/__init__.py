"""The parts of ``luma-schema check`` (``luma_schema.cli`` is the command line itself): reading
the inputs, checking batches and counting the answers, hints, and the worker processes."""

import signal

# What the command says when Ctrl-C or SIGTERM stops it, at any moment: here, where both the
# entry point (before anything else is imported) and the command line read it.
STOP_LINES: dict[int, str] = {
    signal.SIGINT: "luma-schema: interrupted",
    signal.SIGTERM: "luma-schema: terminated",
}
