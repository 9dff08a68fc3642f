import dss_gke
from dataiku.runnables import Runnable


class CheckGcsAccess(Runnable):
    def __init__(self, project_key, config, plugin_config):
        self.config = config
        self.plugin_config = plugin_config

    def get_progress_target(self):
        return None

    def run(self, progress_callback):
        return dss_gke.gcs_check_access_action(self.config, self.plugin_config).to_html()
