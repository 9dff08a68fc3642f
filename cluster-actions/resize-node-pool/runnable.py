from dss_gke.actions import ClusterAction


class ResizeNodePool(ClusterAction):
    action = "resize-node-pool"
