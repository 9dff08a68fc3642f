"""The DSS cluster lifecycle (create with two pools, add a pool, resize, delete) against
gke-emulator with each GKE operation taking 2 s: the wall
time beyond GKE's own operation time, and the API requests it took (from the emulator's log).

Target: at most 1 s of overhead in all; a fixed 5-second poll (what the reference plugin's
waiting loop does) would lose about 2.5 s per operation on average.

Then resizes whose operation takes 30 s and 120 s: for every operation, how late its end was
seen (the client's last poll of it minus the end the emulator recorded), and how many polls
it took. Target (issue 16): at most 1 s late on average at every length, at most one poll per
2 s.
"""

import os
import pathlib
import statistics
import sys
import tempfile
import time

from tests.support.emulator import HOST, Emulator

OPERATION_S = 2.0


# Operation lengths (beside the 2 s of the lifecycle) at which lateness is measured.
LONG_OPERATIONS_S = (30.0, 120.0)
ANCHOR_POLL_S = 5.0
LATE_TARGET_S = 1.0
POLL_PERIOD_TARGET_S = 2.0


def epoch_ms(rfc3339: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp() * 1000)


def operations_seen(emulator) -> list:
    """For each GKE operation the emulator ran: (its length, how late our client saw its end
    (the time of its last poll minus the emulator's recorded end), our polls of it, how late
    a fixed 5 s poll from the submission would have seen it), from the emulator's state and
    request log."""
    polls, submitted = {}, {}
    for r in emulator.requests():
        if r["method"] == "GET" and "/operations/" in r["path"]:
            polls.setdefault(r["path"].rsplit("/", 1)[1], []).append(epoch_ms(r["time"]))
    out = []
    for name, op in emulator.admin("GET", "state")["operations"].items():
        timeline, outcome = op["timeline"], op.get("outcome") or {}
        start = timeline["startMs"]
        end = outcome.get("endMs") or start + timeline["durationMs"]
        if name not in polls:
            continue
        submitted[name] = start
        length = (end - start) / 1000
        late = (max(polls[name]) - end) / 1000
        # A fixed 5 s poll (the reference plugin's loop), its phase random against the
        # operation's end: 2.5 s late on average, or later than that for operations shorter
        # than one period (the first poll comes after 5 s).
        anchor = ANCHOR_POLL_S - length if length < ANCHOR_POLL_S else ANCHOR_POLL_S / 2
        out.append((op["operationType"], length, late, len(polls[name]), anchor))
    return sorted(out, key=lambda o: o[1])


def print_lateness(seen: list, summary) -> None:
    print("\nWhen the end of each GKE operation is seen (emulator's record of its end)")
    columns = f"{'length s':>9} {'late s':>7} {'polls':>6} {'s/poll':>7} {'5 s poll late':>14}"
    print(f"  {'operation':22} {columns}")
    by_length = {}
    for kind, length, late, polls, anchor in seen:
        print(
            f"  {kind:22} {length:9.1f} {late:7.2f} {polls:6d} {length / polls:7.2f} {anchor:14.2f}"
        )
        by_length.setdefault(round(length), []).append((late, polls, anchor))
    for length, rows in sorted(by_length.items()):
        late = statistics.mean(r[0] for r in rows)
        period = length / statistics.mean(r[1] for r in rows)
        anchor = statistics.mean(r[2] for r in rows)
        if summary is not None:
            summary.add(
                f"operation end seen late ({length} s ops)", late,
                "fixed 5 s poll", max(anchor, 0.01),
                f"<= {LATE_TARGET_S} s, >= {POLL_PERIOD_TARGET_S} s/poll",
                late <= LATE_TARGET_S and period >= POLL_PERIOD_TARGET_S,
            )  # fmt: skip


def main(summary=None) -> None:
    import dss_gke

    with tempfile.TemporaryDirectory(prefix="gke-native-bench-") as tmp:
        tmp = pathlib.Path(tmp)
        emulator = Emulator(tmp / "state.json", operation_seconds=OPERATION_S).start()
        emulator.admin("PUT", "metadata", HOST)
        (tmp / "home").mkdir()
        for key, value in emulator.env(tmp / "home").items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        pools = [
            {"name": "cpu", "node_count": 2},
            {"name": "gpu", "node_count": 1, "gpu": True, "taints": ["gpu=yes:NoSchedule"]},
        ]
        config = {"connection": {}, "node_pools": pools}
        lib = str(pathlib.Path(dss_gke.__file__).parent.parent)
        try:
            t0 = time.perf_counter()
            _, data = dss_gke._native.start_cluster(
                config, {}, "bench", str(tmp), sys.executable, lib
            )
            t1 = time.perf_counter()
            cluster = dss_gke.Gke(data["project"], data["location"]).cluster(data["name"])
            cluster.add_node_pool({"name": "spark", "node_count": 2})
            t2 = time.perf_counter()
            cluster.resize("cpu", 4)
            t3 = time.perf_counter()
            # Longer operations, timed apart: when their end is seen, against the emulator's
            # own record of when each one finished.
            long_ops = []
            for i, seconds in enumerate(LONG_OPERATIONS_S):
                emulator.admin("PUT", "settings", {"operationMs": int(seconds * 1000)})
                cluster.resize("cpu", 5 + i)
                long_ops.append(seconds)
            emulator.admin("PUT", "settings", {"operationMs": int(OPERATION_S * 1000)})
            t3b = time.perf_counter()
            dss_gke._native.stop_cluster(config, {}, data)
            t4 = time.perf_counter()
            requests = emulator.google_requests()
            seen = operations_seen(emulator)
        finally:
            emulator.stop()
    operations = 4
    overhead = (t3 - t0) + (t4 - t3b) - operations * OPERATION_S
    print_lateness(seen, summary)
    polls = sum(1 for r in requests if "/operations/" in r["path"])
    print("\nDSS cluster lifecycle against gke-emulator (each GKE operation takes 2 s)")
    print(f"  create (2 pools, kubeconfig, admin binding): {t1 - t0:6.2f} s")
    print(f"  add a node pool:                             {t2 - t1:6.2f} s")
    print(f"  resize a node pool:                          {t3 - t2:6.2f} s")
    print(f"  delete:                                      {t4 - t3b:6.2f} s")
    verdict = "met" if overhead <= 1 else "NOT met"
    print(f"  beyond GKE's own time, in all:               {overhead:6.2f} s")
    print(f"    target <= 1 s: {verdict}; a fixed 5 s poll would lose ~{2.5 * operations:.0f} s")
    print(f"  Google API requests: {len(requests)} (of which operation polls: {polls})")
    if summary is not None:
        summary.add(
            f"lifecycle beyond GKE's time ({operations} operations)", overhead,
            "fixed 5 s poll", 2.5 * operations, "<= 1 s", overhead <= 1,
        )  # fmt: skip
