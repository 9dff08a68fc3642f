import dss_gke
from dataiku.runnables import Runnable


class CheckGcsAccess(Runnable):
    def __init__(self, project_key, config, plugin_config):
        self.config = config

    def get_progress_target(self):
        return None

    def run(self, progress_callback):
        return dss_gke.gcs_check_access_action(self.config).to_html()
