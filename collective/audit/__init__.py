"""Audit (work in progress)."""
