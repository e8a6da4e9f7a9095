"""`postloan simulate`: a seeded core-banking simulator (pure model in `model`, I/O in `driver`)."""

# The public names are model's own list, kept in one place.
from postloan_dev.simulator.model import *  # noqa: F403
from postloan_dev.simulator.model import __all__ as __all__
