"""Operators: who may change the fleet, how they prove it, and how forms are kept honest."""
