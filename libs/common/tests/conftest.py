import sys
from pathlib import Path

# The demo service used by the messaging tests lives beside them.
sys.path.insert(0, str(Path(__file__).parent))
