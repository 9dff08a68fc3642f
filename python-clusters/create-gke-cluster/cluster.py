from dataiku.cluster import Cluster
from dss_gke import dss


class CreateGkeCluster(Cluster):
    def __init__(self, cluster_id, cluster_name, config, plugin_config, global_settings):
        self.cluster_id = cluster_id
        self.config = config
        self.plugin_config = plugin_config

    def start(self):
        return dss.start_created_cluster(self.cluster_id, self.config, self.plugin_config)

    def stop(self, data):
        dss.stop_created_cluster(self.config, self.plugin_config, data)
