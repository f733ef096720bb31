"""Unmask detection: the engine, a library with no Django (the platform builds and drives it)."""
