"""The worker's stop request: set from the SIGINT/SIGTERM handler, checked at the end of every
optimizer step. Light, so the handlers can be installed before the training stack is imported."""

import threading

stop_requested = threading.Event()
