"""The real kubectl, run against a cluster of the emulator through a kubeconfig the plugin wrote."""

import os
import subprocess


def kubectl(kubeconfig, env: dict, *args) -> str:
    """`kubectl --kubeconfig KUBECONFIG ARGS` with `env` over this process's environment
    (None values are skipped); fails the test unless it exits 0; returns its stdout."""
    proc = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **{k: v for k, v in env.items() if v is not None}},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout
