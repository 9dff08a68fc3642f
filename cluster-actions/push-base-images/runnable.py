from dataiku.runnables import Runnable
from dss_gke.dss import push_base_images


class PushBaseImages(Runnable):
    def __init__(self, project_key, config, plugin_config):
        self.config = config

    def get_progress_target(self):
        return None

    def run(self, progress_callback):
        return push_base_images(self.config, progress_callback)
