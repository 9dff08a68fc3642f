import dss_gke
from dataiku.runnables import Runnable


class CheckDssHost(Runnable):
    def __init__(self, project_key, config, plugin_config):
        self.config = config

    def get_progress_target(self):
        return None

    def run(self, progress_callback):
        return dss_gke.environment_report(timeout=self.config.get("timeout", 2.0)).to_html()
