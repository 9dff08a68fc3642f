from dss_gke.actions import ClusterAction


class PlanCluster(ClusterAction):
    action = "plan-cluster"
