"""Reusable widgets: the runs table, the run's numbers, the loss chart."""
