"""`dataiku.customrecipe`: what a plugin recipe script reads of its configuration."""

import os

from dataiku import _context


def get_input_names_for_role(role: str) -> list:
    return list(_context()["inputs"].get(role, []))


def get_output_names_for_role(role: str) -> list:
    return list(_context()["outputs"].get(role, []))


def get_recipe_config() -> dict:
    return _context()["config"]


def get_plugin_config() -> dict:
    return _context()["plugin_config"]


def get_recipe_resource() -> str:
    return os.environ["DKU_CUSTOM_RESOURCE_FOLDER"]
