"""Training and evaluation of the detector (Django-free; management commands wrap it)."""
