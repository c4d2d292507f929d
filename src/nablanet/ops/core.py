"""`keras.ops`' core ops: conversion, dtype and shape queries, control flow, scatter and slices."""

from nablanet.autodiff.ops import cast

__all__ = ["cast"]
