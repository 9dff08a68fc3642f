"""Base classes of gke-native's DSS components that work on a running cluster: each component
file only names its action (its folder name); the work is done by the native module."""

from dataiku.runnables import Runnable
from dss_gke.dss import run_cluster_action


class ClusterAction(Runnable):
    """A cluster action (macro in the cluster's Actions tab): HTML result, progress in percent."""

    #: The action's folder name under cluster-actions/.
    action = ""

    def __init__(self, project_key, config, plugin_config):
        super().__init__(project_key, config, plugin_config)
        self.config = config
        self.plugin_config = plugin_config

    def get_progress_target(self):
        return (100, "NONE")

    def run(self, progress_callback):
        return run_cluster_action(self.action, self.config, self.plugin_config, progress_callback)
