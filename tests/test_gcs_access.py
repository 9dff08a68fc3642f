"""The "Check GCS access" cluster action and `dss_gke.gcs_check_access` against fake-gcs-server.

fake-gcs-server does not implement testIamPermissions (it answers 404) and accepts every
request: the IAM answers and the refusals here come from a loopback proxy in front of it."""

import pytest

import dss_gke
from tests.support.gcs import GcsProxy
from tests.support.html import table

CHECKS = ["bucket", "check", "result", "detail"]


def rows(report) -> dict:
    return {
        (b["location"], c["check"]): (c["verdict"], c["detail"])
        for b in report.to_dict()["buckets"]
        for c in b["checks"]
    }


def test_action_checks_every_bucket(dss, fake_gcs):
    dss.plugin_settings["storage_endpoint"] = fake_gcs.url
    connection = dss.define_preset("connection-info", "host", {})
    # The action runs on a DSS cluster (from its Actions tab): no preset chosen in the action
    # means the cluster's own connection.
    dss.define_cluster("create-gke-cluster", "lake", {"connection": connection})
    buckets = ["bkt", "gs://bkt/some/prefix", "missing-bucket"]
    run = dss.run_cluster_action("check-gcs-access", "lake", buckets=buckets)
    html = run.result
    assert "Failed: some checks failed" in html
    result = {(r["bucket"], r["check"]): r["result"] for r in table(html, CHECKS)}
    for check in ("bucket exists", "list objects", "write probe object", "read probe back"):
        assert result[("gs://bkt/", check)] == "OK", check
    assert result[("gs://bkt/some/prefix/", "delete probe object")] == "OK"
    assert "location US-CENTRAL1 (region), storage class STANDARD" in html
    assert "CRC32C matches" in html
    assert "does not answer testIamPermissions" in html
    assert result[("gs://missing-bucket/", "bucket exists")] == "Failed"
    assert "check the bucket name" in html
    assert fake_gcs.objects("bkt") == {}, "probe objects are deleted"


def test_missing_permissions_name_the_role(fake_gcs):
    with GcsProxy(fake_gcs) as proxy:
        proxy.permissions = ["storage.objects.get", "storage.objects.list"]
        proxy.refuse_writes = 403
        report = dss_gke.gcs_check_access(["bkt/p"], endpoint=proxy.url)
    got = rows(report)
    assert report.verdict == "Failed"
    assert got[("gs://bkt/p/", "list objects")][0] == "OK"
    verdict, detail = got[("gs://bkt/p/", "write probe object")]
    assert verdict == "Failed" and "403" in detail and "lacks a permission" in detail
    assert got[("gs://bkt/p/", "read probe back")][0] == "Warning"
    verdict, detail = got[("gs://bkt/p/", "IAM permissions")]
    assert verdict == "Failed"
    assert "storage.objects.create (granted by roles/storage.objectCreator)" in detail
    assert "storage.objects.delete (granted by roles/storage.objectUser)" in detail
    assert "storage.objects.get" not in detail.split("missing")[1].split(";")[0]


def test_all_permissions_held(fake_gcs):
    with GcsProxy(fake_gcs) as proxy:
        proxy.permissions = [
            "storage.objects.get",
            "storage.objects.list",
            "storage.objects.create",
            "storage.objects.delete",
        ]
        report = dss_gke.gcs_check_access(["gs://bkt"], endpoint=proxy.url)
    assert report.verdict == "OK", report.to_dict()
    assert "1 bucket(s) fully usable" in report._repr_html_()


def test_refused_credentials_show_in_the_table(fake_gcs):
    with GcsProxy(fake_gcs) as proxy:
        proxy.status_for_all = 401
        report = dss_gke.gcs_check_access(["bkt"], endpoint=proxy.url)
    verdict, detail = rows(report)[("gs://bkt/", "bucket exists")]
    assert verdict == "Failed" and "credentials were not accepted" in detail


def test_config_problems(fake_gcs):
    with pytest.raises(dss_gke.ValidationError, match="list at least one bucket"):
        dss_gke.gcs_check_access([], endpoint=fake_gcs.url)
    with pytest.raises(dss_gke.ValidationError, match="Buckets › #1"):
        dss_gke.gcs_check_access(["UPPER"], endpoint=fake_gcs.url)
