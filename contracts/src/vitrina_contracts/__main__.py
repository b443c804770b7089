"""``python -m vitrina_contracts``: the same as the ``vitrina-contracts`` command."""

import sys

from vitrina_contracts.cli import main

sys.exit(main())
