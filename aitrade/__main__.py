"""``python -m aitrade`` is the ``aitrade`` command."""

from aitrade.cli import main

raise SystemExit(main())
