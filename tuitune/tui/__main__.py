"""``python -m tuitune.tui``: the terminal app."""

from tuitune.tui.app import main

if __name__ == "__main__":
    main()
