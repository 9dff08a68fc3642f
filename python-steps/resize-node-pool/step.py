from dss_gke.dss import run_cluster_step

run_cluster_step("resize-node-pool")
