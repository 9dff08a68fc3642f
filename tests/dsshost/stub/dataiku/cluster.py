"""`dataiku.cluster`: the base class of plugin cluster types."""


class Cluster:
    def __init__(self, cluster_id, cluster_name, config, plugin_config, global_settings=None):
        self.cluster_id = cluster_id
        self.cluster_name = cluster_name
        self.config = config
        self.plugin_config = plugin_config
        self.global_settings = global_settings

    def start(self):
        raise NotImplementedError

    def stop(self, data):
        raise NotImplementedError
