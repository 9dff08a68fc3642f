from dss_gke.actions import ClusterAction


class AddNodePool(ClusterAction):
    action = "add-node-pool"
