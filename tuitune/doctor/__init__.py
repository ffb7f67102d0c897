"""`tuitune doctor`: what this machine's install can do, one check a line, each with what to do.

:mod:`tuitune.doctor.checks` holds the checks that need no torch (NVML, llama.cpp, the GGUF
converter, disk, memory, the HF cache), run in the front's process; :mod:`tuitune.doctor.probe`
is a worker (``python -m tuitune.doctor.probe``) for those that must import torch (its build,
bitsandbytes, flash-attention, Liger), so that neither front ever imports it.
"""
