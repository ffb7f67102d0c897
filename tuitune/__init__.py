"""tuitune: fine-tune open LLMs on your own GPU, from the terminal."""

__version__ = "0.1.0"
