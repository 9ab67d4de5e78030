"""Galactic Goofs: a live status board for a spacecraft fleet."""
