from dss_gke.actions import ClusterAction


class ClusterHealth(ClusterAction):
    action = "cluster-health"
