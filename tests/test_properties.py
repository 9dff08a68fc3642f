"""Generated create configs (hypothesis, fixed seed): for every one, start() either refuses it
with a ValidationError naming each field, or creates a cluster whose request the emulator
(which checks requests against Google's discovery document) accepts; never a crash, a panic, a
non-GkeError exception, or more than a small bounded number of API calls."""

import itertools
import os
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dss_gke

LIB = os.path.dirname(os.path.dirname(dss_gke.__file__))
# One start(): metadata, Compute and GKE reads, the create and its polls, the admin binding.
MAX_CALLS = 60
_ids = itertools.count()

numbers = st.one_of(
    st.integers(-3, 6),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0.0, 2.0, 2.5, float("nan"), float("inf"), -1e300]),
    st.sampled_from(["3", "", None, True]),
)
names = st.one_of(
    st.sampled_from(["", "cpu", "gpu", "Pool_1", "a" * 41, "-x", "ok-pool-2"]),
    st.text(max_size=6),
)
valves = st.sampled_from(
    [
        "",
        "{}",
        '{"name": "b"}',
        '{"nodePools": []}',
        '{"a": 1, "a": 2}',
        "[1]",
        "{oops",
        '{"description": "made by a property test"}',
        '{"description": 5}',
        '{"resourceLabels": {"cost": "batch"}}',
        '{"addonsConfig": {"gcePersistentDiskCsiDriverConfig": {"enabled": true}}}',
    ]
)
pool_valves = st.sampled_from(
    ["", '{"name": "x"}', '{"config": {"diskSizeGb": 200}}', '{"config": {"diskSizeGb": "big"}}']
)
pools = st.fixed_dictionaries(
    {},
    optional={
        "name": names,
        "machine_type": st.sampled_from(
            ["e2-standard-4", "n2-highmem-8", "banana", "e2-standard-3", "", "custom-4-16384"]
        ),
        "node_count": numbers,
        "autoscaling": st.booleans(),
        "min_nodes": numbers,
        "max_nodes": numbers,
        "gpu": st.booleans(),
        "gpu_type": st.sampled_from(["nvidia-tesla-t4", "nvidia-l4", "nvidia-tesla-a100", "x y"]),
        "disk_type": st.sampled_from(["pd-balanced", "pd-ssd", "floppy"]),
        "disk_size_gb": numbers,
        "image_type": st.sampled_from(["COS_CONTAINERD", "UBUNTU_CONTAINERD", "junk"]),
        "taints": st.lists(
            st.sampled_from(["a=b:NoSchedule", "a=b:PreferNoSchedule", "bad", "k=v:NoExecute"]),
            max_size=2,
        ),
        "resource_labels": st.dictionaries(
            st.sampled_from(["team", "Bad", ""]), st.text(max_size=3), max_size=2
        ),
        "service_account_mode": st.sampled_from(["same-as-dss", "custom", "compute-default"]),
        "service_account": st.sampled_from(["", "n@p.iam.gserviceaccount.com", "x\ny"]),
        "settings_valve": pool_valves,
    },
)
configs = st.fixed_dictionaries(
    {"connection": st.just({})},
    optional={
        "gke_name": names,
        "mode": st.sampled_from(["standard", "autopilot", "both"]),
        "location_type": st.sampled_from(["zonal", "regional"]),
        "node_locations": st.lists(
            st.sampled_from(["europe-west1-b", "europe-west1-d", "us-east1-b", "zone"]), max_size=3
        ),
        "kubernetes_version": st.sampled_from(["latest", "default", "1.33", "1.29", "x.y"]),
        "pod_range": st.sampled_from(["", "/14", "/0", "10.40.0.0/14", "10.0.0.0/33", "pods"]),
        "service_range": st.sampled_from(["", "/20", "10.48.0.0/20", "10.40.0.0/16"]),
        "labels": st.dictionaries(
            st.sampled_from(["team", "Team", "a b"]), st.text(max_size=3), max_size=2
        ),
        "settings_valve": valves,
        "operation_timeout_minutes": st.sampled_from([30, 0, 1e300, 2.0]),
        "node_pools": st.lists(pools, max_size=3),
    },
)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(config=configs)
def test_every_config_is_refused_by_field_or_created_within_bounded_calls(
    config, on_dss_host, tmp_path
):
    emulator = on_dss_host
    emulator.admin("DELETE", "requests")
    cluster_id = f"prop-{next(_ids)}"
    workdir = tmp_path / cluster_id
    try:
        _, data = dss_gke._native.start_cluster(
            config, {}, cluster_id, str(workdir), sys.executable, LIB
        )
    except dss_gke.ValidationError as e:
        assert e.problems, e
        for problem in e.problems:
            assert problem["field"].strip() and problem["message"].strip(), e.problems
    else:
        rejected = [r for r in emulator.google_requests() if r.get("status", 200) == 400]
        assert rejected == [], rejected
        dss_gke._native.stop_cluster(config, {}, data)
    assert len(emulator.requests()) <= MAX_CALLS
