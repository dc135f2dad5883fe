"""Allows `python -m drkit`."""

from drkit.cli import main

if __name__ == "__main__":
    main()
