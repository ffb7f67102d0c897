"""The app's screens and dialogs, one module each. Import them directly; this package is empty
so that importing one screen does not import the others (the run view pulls in plotext)."""
