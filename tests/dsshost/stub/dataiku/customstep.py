"""`dataiku.customstep`: what a plugin scenario step script reads of its configuration."""

import os

from dataiku import _context


def get_step_config() -> dict:
    return _context()["config"]


def get_plugin_config() -> dict:
    return _context()["plugin_config"]


def get_step_resource() -> str:
    return os.environ["DKU_CUSTOM_RESOURCE_FOLDER"]
