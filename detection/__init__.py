"""Unmask detection: the engine (Django-free modules) and its Django glue."""
