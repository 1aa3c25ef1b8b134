"""Assignment 06's checks, registered on import: Parts A and D (checks_backward.py) and Part E
(checks_text.py)."""
from . import checks_backward, checks_text  # noqa: F401
