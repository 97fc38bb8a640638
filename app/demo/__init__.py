"""Synthetic demo data and its seeding: never used by production paths."""
