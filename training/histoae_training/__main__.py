"""Entry point: ``python -m histoae_training <train|export|calibrate|evaluate|speed> ...``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
