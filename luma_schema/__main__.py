"""``python -m luma_schema``: the ``luma-schema`` command."""

from luma_schema.cli import run

if __name__ == "__main__":  # not when a worker process re-imports this module
    run()
