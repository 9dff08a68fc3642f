from dss_gke.actions import ClusterAction


class TestNetwork(ClusterAction):
    action = "test-network"
