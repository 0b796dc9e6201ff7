"""``python -m automl_hyper.cli``: the same command as ``automl-hyper``."""

import sys

from automl_hyper.cli import main

sys.exit(main())
