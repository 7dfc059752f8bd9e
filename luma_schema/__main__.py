import sys

from luma_schema.cli import main

sys.exit(main())
