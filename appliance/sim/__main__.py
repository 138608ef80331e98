"""``python -m appliance.sim``."""

from appliance.sim.cli import main

raise SystemExit(main())
