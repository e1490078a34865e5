"""``python -m systolic`` is the ``systolic`` command (an entry point: nothing imports it, so it
stands outside the layers; scripts/import_graph.py leaves ``__main__`` modules out)."""

from systolic.cli import main

raise SystemExit(main())
