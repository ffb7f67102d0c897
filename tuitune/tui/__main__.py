"""``python -m tuitune.tui``: the terminal app."""

from tuitune.tui.app import main

main()
