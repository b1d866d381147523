"""The Tenure collector (`pip install 'tenure[collector]'`): Segment-spec ingest into ClickHouse."""

from __future__ import annotations

import sys


def main() -> None:
    """The `tenure` console script. It is installed with the SDK too; without the collector extra
    it says what to install instead of failing with an ImportError."""
    try:
        from .cli import main as cli_main
    except ImportError as exc:
        sys.exit(f"the tenure command needs the collector extra ({exc.name} is missing): pip install 'tenure[collector]'")
    cli_main()
