import dataiku
from dataiku.customrecipe import (
    get_input_names_for_role,
    get_output_names_for_role,
    get_plugin_config,
    get_recipe_config,
)
from dss_gke.folders import run_sync_recipe


def folder(names):
    return dataiku.Folder(names[0]) if names else None


run_sync_recipe(
    get_recipe_config(),
    get_plugin_config(),
    folder(get_input_names_for_role("source_folder")),
    folder(get_output_names_for_role("target_folder")),
    get_output_names_for_role("files")[0],
)
