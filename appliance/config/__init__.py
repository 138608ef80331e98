"""The configuration (see :mod:`appliance.config.models`)."""

from appliance.config.models import *  # noqa: F403
from appliance.config.models import _norm  # noqa: F401
