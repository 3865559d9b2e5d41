"""Locale format overrides (FORMAT_MODULE_PATH)."""
