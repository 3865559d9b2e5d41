"""Signals the engine sends, so apps built on it can join its routines without the engine knowing them."""

from django.dispatch import Signal

# Sent by `manage.py prune_history` after it pruned the delivery history, with `now` (an aware datetime).
# A receiver deletes what it keeps that has expired and returns one line for the command to print.
history_pruned = Signal()
