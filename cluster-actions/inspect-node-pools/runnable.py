from dss_gke.actions import ClusterAction


class InspectNodePools(ClusterAction):
    action = "inspect-node-pools"
