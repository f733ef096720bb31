"""The REST API under /api/v1/ (DRF only): analyses here, tokens and reviews from their apps."""
