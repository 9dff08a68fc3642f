from dataiku.runnables import Runnable
from dss_gke.dss import run_cluster_action


class ResizeNodePool(Runnable):
    def __init__(self, project_key, config, plugin_config):
        self.config = config

    def get_progress_target(self):
        return (100, "NONE")

    def run(self, progress_callback):
        return run_cluster_action("resize-node-pool", self.config, progress_callback)
