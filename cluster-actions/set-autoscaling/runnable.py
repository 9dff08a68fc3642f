from dss_gke.actions import ClusterAction


class SetAutoscaling(ClusterAction):
    action = "set-autoscaling"
