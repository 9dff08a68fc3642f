"""The DSS host harness itself, on a fixture plugin with one component of each kind."""

import json
import pathlib
import shutil
import zipfile

import pytest

from tests.dsshost import ComponentFailed, DssHost, validate_plugin

FIXTURE = pathlib.Path(__file__).resolve().parent / "fixtures" / "harness-plugin"


def zip_tree(tree: pathlib.Path, out: pathlib.Path) -> pathlib.Path:
    with zipfile.ZipFile(out, "w") as z:
        for path in sorted(tree.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                z.write(path, path.relative_to(tree).as_posix())
    return out


@pytest.fixture
def host(code_env, tmp_path) -> DssHost:
    host = DssHost(tmp_path / "dip_home", code_env)
    host.install(zip_tree(FIXTURE, tmp_path / "fixture.zip"))
    return host


def test_fixture_descriptors_are_valid():
    assert validate_plugin(FIXTURE) == []


def test_configs_are_resolved_as_dss_does(host):
    pool = host.define_preset("pool", "big", {"machine": "n2-standard-8"})
    config = host.resolve(
        host.descriptor("python-clusters", "echo-cluster")["params"],
        {"pool": pool, "pools": [pool, {"mode": "INLINE", "inlineParams": {"count": 5}}]},
    )
    assert config == {
        "pool": {"machine": "n2-standard-8", "count": 1},
        "pools": [
            {"machine": "n2-standard-8", "count": 1},
            {"machine": "e2-standard-4", "count": 5},
        ],
        "mode": "a",
        "extra": 3,
    }
    with pytest.raises(KeyError, match="preset 'nope'"):
        host.resolve(
            host.descriptor("python-clusters", "echo-cluster")["params"],
            {"pool": {"mode": "PRESET", "name": "nope"}},
        )


def test_cluster_start_and_stop(host):
    pool = host.define_preset("pool", "small", {"count": 2})
    run = host.start_cluster("echo-cluster", "c1", {"pool": pool, "mode": "b"})
    settings, data = run.value
    workdir = host.cluster_dir("c1")
    kubeconfig = settings["container"]["executionConfigsGenericOverrides"]["kubeConfigPath"]
    assert kubeconfig == str(workdir / "kubeconfig")
    assert data["cwd"] == str(workdir)
    assert data["config"]["pool"] == {"machine": "e2-standard-4", "count": 2}
    assert data["plugin_config"] == {"greeting": "hello"}
    assert data["dip_home"] == str(host.dip_home)
    assert data["resource"] == "resource text\n"
    assert data["python_lib_on_path"] is True
    assert data["described"]["keys"] == ["extra", "mode", "pool"]  # unset PRESETS: absent
    assert host.cluster_record("c1")["plugin_data"] == data

    host.stop_cluster("c1")
    assert (workdir / "stopped").read_text() == str(workdir)
    assert host.cluster_record("c1")["plugin_data"] is None


def test_macro_reads_the_cluster_through_the_public_api(host):
    host.start_cluster("echo-cluster", "c2", {"mode": "b"})
    run = host.run_macro("read-cluster", {"clusterId": "c2"}, project_key="DKU_TSHIRTS")
    assert run.progress_target == [3, "NONE"]
    assert run.progress == [1, 2, 3]
    assert run.result == f"<p>DKU_TSHIRTS b {host.cluster_dir('c2')}</p>"


def test_macro_failure_is_reported(host):
    with pytest.raises(ComponentFailed, match="Cluster nope does not exist"):
        host.run_macro("read-cluster", {"clusterId": "nope"})


def test_recipe_reads_and_writes_folders_and_datasets(host):
    (host.folder("in") / "sub").mkdir()
    (host.folder("in") / "sub" / "a.txt").write_text("A")
    host.run_recipe("copy-folder", {"source": ["in"]}, {"target": ["out"], "report": ["rows"]}, {})
    assert (host.folder("out") / "sub" / "a.txt.copy").read_text() == "A"
    assert host.dataset_rows("rows") == [{"path": "/sub/a.txt", "action": "copied"}]


def test_step_failure_fails_with_its_reason(host):
    host.run_step("maybe-fail", {})
    host.plugin_settings["greeting"] = "the test"
    with pytest.raises(ComponentFailed) as info:
        host.run_step("maybe-fail", {"fail": True})
    assert info.value.message == "asked to fail by the test"


def broken_copy(tmp_path, edit) -> pathlib.Path:
    tree = tmp_path / "broken"
    shutil.copytree(FIXTURE, tree)
    edit(tree)
    return tree


def edit_json(path: pathlib.Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def cluster_params(tree):
    return tree / "python-clusters" / "echo-cluster" / "cluster.json"


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (
            lambda t: edit_json(cluster_params(t), lambda d: d["params"][1].update(type="FOO")),
            "python-clusters/echo-cluster › pool: unknown type 'FOO'",
        ),
        (
            lambda t: edit_json(
                cluster_params(t), lambda d: d["params"][4].update(defaultValue="3")
            ),
            "python-clusters/echo-cluster › extra: defaultValue '3' does not fit type INT",
        ),
        (
            lambda t: edit_json(
                cluster_params(t), lambda d: d["params"][3].update(defaultValue="c")
            ),
            "python-clusters/echo-cluster › mode: defaultValue 'c' does not fit type SELECT "
            "(not among selectChoices)",
        ),
        (
            lambda t: edit_json(
                cluster_params(t),
                lambda d: d["params"][4].update(visibilityCondition="model.moed == 'b'"),
            ),
            "python-clusters/echo-cluster › extra: visibilityCondition names unknown param 'moed'",
        ),
        (
            lambda t: edit_json(
                cluster_params(t), lambda d: d["params"][2].update(parameterSetId="pools")
            ),
            "python-clusters/echo-cluster › pools: parameterSetId 'pools' is not a parameter set",
        ),
        (
            lambda t: edit_json(
                t / "python-runnables" / "read-cluster" / "runnable.json",
                lambda d: d["macroRoles"][0].update(type="CLUSTERS"),
            ),
            "python-runnables/read-cluster: macroRoles type 'CLUSTERS' is unknown",
        ),
        (
            lambda t: edit_json(
                t / "python-runnables" / "read-cluster" / "runnable.json",
                lambda d: d["macroRoles"][0].pop("targetParamsKey"),
            ),
            "python-runnables/read-cluster: a CLUSTER macroRole needs targetParamsKey",
        ),
        (
            lambda t: (t / "python-steps" / "maybe-fail" / "step.py").unlink(),
            "python-steps/maybe-fail: no step.py",
        ),
        (
            lambda t: edit_json(
                t / "parameter-sets" / "pool" / "parameter-set.json",
                lambda d: d["params"].append(d["params"][0]),
            ),
            "parameter-sets/pool › machine: defined twice",
        ),
    ],
)
def test_descriptor_mistakes_are_caught(tmp_path, edit, problem):
    assert problem in validate_plugin(broken_copy(tmp_path, edit))


def test_a_broken_plugin_is_refused_at_install(code_env, tmp_path):
    tree = broken_copy(tmp_path, lambda t: (t / "plugin.json").write_text('{"id": "x"}'))
    host = DssHost(tmp_path / "dip_home", code_env)
    with pytest.raises(ValueError, match=r"plugin\.json: no version"):
        host.install(zip_tree(tree, tmp_path / "broken.zip"))
