"""Analyses: one check of one video, its job state, evidence, and the pages that show it."""
