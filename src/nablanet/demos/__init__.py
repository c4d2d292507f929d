"""Runnable demos behind `nablanet demo NAME`."""
