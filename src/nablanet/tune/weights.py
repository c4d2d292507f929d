"""Where a search keeps each trial's best weights: with a directory,
`directory/project_name/<study>/trial_NNNN.weights.safetensors`, one folder per study (many studies
may share a project's folder or database). A trial records the path relative to
`directory/project_name`, so the folder can be moved or opened from another working directory."""

import os
import urllib.parse


def folder_name(study_name):
    """The folder of a study's weights: its name with every character that a path could misread
    escaped (`/`, `.`, `%`, ...), reversibly, so that two studies never share a folder."""
    return urllib.parse.quote(study_name, safe="").replace(".", "%2E")


def save(model, weights, folder, study_folder, number):
    """Save a trial's best `weights` through `model`; return the path to record in the trial."""
    model.set_weights(weights)
    name = f"{study_folder}/trial_{number:04d}.weights.safetensors"
    model.save_weights(os.path.join(folder, name))  # atomic: temp file + rename
    return name


def path(folder, stored):
    """A trial's weights file from the path it stored: relative to the tuner's folder, or else
    a path of its own (absolute, or relative to the search's working directory) where only that
    one exists."""
    if folder is None:
        return stored
    joined = os.path.join(folder, stored)
    return stored if not os.path.exists(joined) and os.path.exists(stored) else joined


def remove(folder):
    """Delete a study's weights files, and its folder when nothing else is left in it."""
    if os.path.isdir(folder):
        for name in os.listdir(folder):
            if name.startswith("trial_") and name.endswith(".weights.safetensors"):
                os.remove(os.path.join(folder, name))
        if not os.listdir(folder):
            os.rmdir(folder)
