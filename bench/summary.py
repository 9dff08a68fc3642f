"""The one table `make bench` ends with: each case, ours, the anchor measured in the same run,
the ratio ours / anchor (below 1: ours is faster or smaller), the target and whether it is met."""

from dataclasses import dataclass


@dataclass
class Row:
    case: str
    ours: float
    anchor_name: str
    anchor: float
    unit: str
    target: str
    met: bool


class Summary:
    def __init__(self):
        self.rows = []

    def add(self, case, ours, anchor_name, anchor, target, met, unit="s") -> None:
        self.rows.append(Row(case, ours, anchor_name, anchor, unit, target, met))

    def print(self) -> None:
        print("\nSummary (ratio = ours / anchor)")
        header = f"{'case':44} {'ours':>10} {'anchor':>26} {'ratio':>6}  {'target':24} result"
        print(header)
        print("-" * len(header))
        for r in self.rows:
            ratio = r.ours / r.anchor if r.anchor else float("inf")
            anchor = f"{r.anchor:.2f} {r.unit} {r.anchor_name}"
            print(
                f"{r.case:44} {r.ours:7.2f} {r.unit:2} {anchor:>26} {ratio:6.2f}  {r.target:24}"
                f" {'met' if r.met else 'NOT MET'}"
            )
        met = sum(r.met for r in self.rows)
        print(f"{met} of {len(self.rows)} targets met")
