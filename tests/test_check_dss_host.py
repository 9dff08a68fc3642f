"""The "Check DSS host" cluster action, through the DSS host harness."""


def test_on_a_gce_host(dss, metadata_server):
    run = dss.run_macro(
        "check-dss-host",
        {"clusterId": "any"},
        env={"GCE_METADATA_HOST": metadata_server.host},
    )
    html = run.result
    assert "OK: Running on Google Cloud" in html
    for fact in (
        "dss-prod-1234",
        "europe-west1-b",
        "dss-host@dss-prod-1234.iam.gserviceaccount.com",
    ):
        assert f"<td>{fact}</td>" in html
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
