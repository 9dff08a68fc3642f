from dataiku.runnables import Runnable
from dss_gke.dss import check_gcs_access


class CheckGcsAccess(Runnable):
    def __init__(self, project_key, config, plugin_config):
        self.config = config

    def get_progress_target(self):
        return None

    def run(self, progress_callback):
        return check_gcs_access(self.config)
