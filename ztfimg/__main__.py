"""``python -m ztfimg``: same as the ``ztfimg`` console command."""
from ztfimg.cli import main

raise SystemExit(main())
