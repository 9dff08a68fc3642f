"""The DSS cluster lifecycle (create with two pools, add a pool, resize, delete) against
gke-emulator with each GKE operation taking 2 s: the wall time beyond GKE's own operation time,
and the API requests it took (from the emulator's log). Target: at most 1 s of overhead in all.

Then when the end of each operation is seen, at about 2 s, 30 s and 120 s: for each length,
four resizes on four clusters at once, ending 0.25, 0.75, 1.25 and 1.75 s past the length (the
middles of four equal parts of a 2 s period: the ends fall evenly between two polls, as GKE's
do, rather than on the poll a fixed schedule makes from a round length). For each, how late its end
was seen (the time of the poll that saw it DONE minus the end the emulator recorded) and the
seconds of waiting per poll (the last poll's time minus the submission, over the polls).
Target (issue 16): at most 1 s late on average at every length, at least 2 s per poll. A fixed
5 s poll (Dataiku's GKE plugin) is computed on the same timeline: 2.5 s late on average.

The two targets meet at one schedule: a poll every 2 s sees a uniformly placed end 1 s late on
average (half the period), plus the time the poll takes to reach the server and the timer's
wake-up (milliseconds on loopback; tens under load). The summary allows 50 ms for that
(`ROUND_TRIP_S`), and says so in the target column.
"""

import os
import pathlib
import statistics
import sys
import tempfile
import threading
import time

from tests.support.emulator import HOST, Emulator

OPERATION_S = 2.0


# Operation lengths at which lateness is measured, and where in a 2 s period each one ends.
LENGTHS_S = (2.0, 30.0, 120.0)
PHASES_S = (0.25, 0.75, 1.25, 1.75)
ANCHOR_POLL_S = 5.0
LATE_TARGET_S = 1.0
POLL_PERIOD_TARGET_S = 2.0
# A poll's transit and timer wake-up, allowed beside the 1 s (see the docstring).
ROUND_TRIP_S = 0.05


def epoch_ms(rfc3339: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp() * 1000)


def operations_seen(emulator, nominal: dict) -> list:
    """For each operation named in `nominal` (name → the length it stands for): (nominal
    length, its length, how late our client saw its end (the time of its last poll minus the
    emulator's recorded end), our polls of it, the seconds of waiting per poll), from the
    emulator's state and request log."""
    polls = {}
    for r in emulator.requests():
        if r["method"] == "GET" and "/operations/" in r["path"]:
            polls.setdefault(r["path"].rsplit("/", 1)[1], []).append(epoch_ms(r["time"]))
    out = []
    for name, op in emulator.admin("GET", "state")["operations"].items():
        if name not in nominal or name not in polls:
            continue
        timeline, outcome = op["timeline"], op.get("outcome") or {}
        start = timeline["startMs"]
        end = outcome.get("endMs") or start + timeline["durationMs"]
        last = max(polls[name])
        per_poll = (last - start) / 1000 / len(polls[name])
        out.append(
            (nominal[name], (end - start) / 1000, (last - end) / 1000, len(polls[name]), per_poll)
        )
    return sorted(out)


def anchor_late(length: float) -> float:
    """How late a fixed 5 s poll from the submission (the reference plugin's loop) sees an end,
    on average over where the end falls in its period: 2.5 s, more for operations shorter than
    one period (its first poll comes after 5 s)."""
    return ANCHOR_POLL_S - length if length < ANCHOR_POLL_S else ANCHOR_POLL_S / 2


def print_lateness(seen: list, summary) -> None:
    print("\nWhen the end of each GKE operation is seen (the emulator's record of its end)")
    columns = f"{'length s':>9} {'late s':>7} {'polls':>6} {'s/poll':>7} {'5 s poll late':>14}"
    print(f"  {'nominal':>8} {columns}")
    by_length = {}
    for nominal, length, late, polls, per_poll in seen:
        anchor = anchor_late(length)
        print(
            f"  {nominal:8.0f} {length:9.2f} {late:7.3f} {polls:6d} {per_poll:7.3f} {anchor:14.2f}"
        )
        by_length.setdefault(nominal, []).append((late, per_poll, anchor))
    for nominal, rows in sorted(by_length.items()):
        late = statistics.mean(r[0] for r in rows)
        per_poll = min(r[1] for r in rows)
        anchor = statistics.mean(r[2] for r in rows)
        print(
            f"  {nominal:.0f} s operations: {late:.3f} s late on average, >= {per_poll:.3f} s/poll"
        )
        if summary is not None:
            summary.add(
                f"operation end seen late ({nominal:.0f} s ops)", late,
                "fixed 5 s poll", anchor,
                f"<= {LATE_TARGET_S} s +50 ms, >= {POLL_PERIOD_TARGET_S} s/poll",
                late <= LATE_TARGET_S + ROUND_TRIP_S and per_poll >= POLL_PERIOD_TARGET_S,
            )  # fmt: skip


def resize_together(emulator, clusters: list, length: float, nodes: int) -> list:
    """One resize per cluster at once, the i-th operation lasting `length` + PHASES_S[i]; the
    names of the operations."""
    known = set(emulator.admin("GET", "state")["operations"])
    threads, errors = [], []
    for cluster, phase in zip(clusters, PHASES_S):
        emulator.admin("PUT", "settings", {"operationMs": int((length + phase) * 1000)})

        def run(cluster=cluster):
            try:
                cluster.resize("cpu", nodes)
            except Exception as e:  # reported after the join
                errors.append(e)

        thread = threading.Thread(target=run)
        thread.start()
        threads.append(thread)
        # The operation exists (with its length) before the next length is set.
        for _ in range(500):
            if len(set(emulator.admin("GET", "state")["operations"]) - known) == len(threads):
                break
            time.sleep(0.01)
        else:
            raise RuntimeError("a resize did not start within 5 s")
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return sorted(set(emulator.admin("GET", "state")["operations"]) - known)


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
            dss_gke._native.stop_cluster(config, {}, data)
            t4 = time.perf_counter()
            requests = emulator.google_requests()
            # When ends are seen: four more clusters, resized at once at each length.
            gke = dss_gke.Gke(data["project"], data["location"])
            clusters, nominal = [], {}
            for i in range(len(PHASES_S)):
                name = f"late-{i}"
                dss_gke._native.start_cluster(
                    {"connection": {}, "node_pools": pools[:1]}, {}, name, str(tmp / name),
                    sys.executable, lib,
                )  # fmt: skip
                clusters.append(gke.cluster(name))
            for i, length in enumerate(LENGTHS_S):
                for op in resize_together(emulator, clusters, length, 3 + i):
                    nominal[op] = length
            seen = operations_seen(emulator, nominal)
        finally:
            emulator.stop()
    operations = 4
    overhead = (t4 - t0) - operations * OPERATION_S
    print_lateness(seen, summary)
    polls = sum(1 for r in requests if "/operations/" in r["path"])
    print("\nDSS cluster lifecycle against gke-emulator (each GKE operation takes 2 s)")
    print(f"  create (2 pools, kubeconfig, admin binding): {t1 - t0:6.2f} s")
    print(f"  add a node pool:                             {t2 - t1:6.2f} s")
    print(f"  resize a node pool:                          {t3 - t2:6.2f} s")
    print(f"  delete:                                      {t4 - t3:6.2f} s")
    verdict = "met" if overhead <= 1 else "NOT met"
    print(f"  beyond GKE's own time, in all:               {overhead:6.2f} s")
    print(f"    target <= 1 s: {verdict}; a fixed 5 s poll would lose ~{2.5 * operations:.0f} s")
    print(f"  Google API requests: {len(requests)} (of which operation polls: {polls})")
    if summary is not None:
        summary.add(
            f"lifecycle beyond GKE's time ({operations} operations)", overhead,
            "fixed 5 s poll", 2.5 * operations, "<= 1 s", overhead <= 1,
        )  # fmt: skip
