"""``python -m luma_schema``: the ``luma-schema`` command."""

from luma_schema._cli.start import run

if __name__ == "__main__":  # not when a worker process re-imports this module
    run()
