"""``python -m systolic.cli`` is the ``systolic`` command."""

from systolic.cli import main

raise SystemExit(main())
