from dataiku.runnables import Runnable
from dss_gke.dss import setup_dss


class SetupDss(Runnable):
    def __init__(self, project_key, config, plugin_config):
        self.config = config

    def get_progress_target(self):
        return None

    def run(self, progress_callback):
        return setup_dss(self.config, progress_callback)
