"""The "Check DSS host" cluster action, through the DSS host harness."""

from tests.support.html import table


def test_on_a_gce_host(dss, metadata_server):
    run = dss.run_macro(
        "check-dss-host",
        {"clusterId": "any"},
        env={"GCE_METADATA_HOST": metadata_server.host},
    )
    html = run.result
    assert "OK: Running on Google Cloud" in html
    facts = {row["Host fact"]: row["Value"] for row in table(html, ["Host fact", "Value"])}
    assert facts == {
        "Project": "dss-prod-1234",
        "Zone": "europe-west1-b",
        "Region": "europe-west1",
        "Instance": "dss-host",
        "Network": "projects/123456789/networks/dss-vpc",
        "IP": "10.132.0.7",
        "Service account": "dss-host@dss-prod-1234.iam.gserviceaccount.com",
    }
    assert "{" not in html  # a table, not a JSON dump
    assert run.progress_target is None


def test_off_google_cloud(dss):
    run = dss.run_macro(
        "check-dss-host",
        {"clusterId": "any", "timeout": 1.0},
        env={"GCE_METADATA_HOST": "127.0.0.1:9"},
    )
    assert "Warning: No GCE metadata server answered" in run.result
    assert "Set project, zone and credentials explicitly" in run.result
