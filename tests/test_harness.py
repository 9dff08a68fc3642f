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
    yield host
    host.close()


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
    # What DSS's API client reads back: the whole definition, params unresolved, the data.
    raw = host.cluster_settings("c1")
    assert raw["type"] == "pycluster_harness-fixture_echo-cluster"
    assert raw["params"]["config"] == {"pool": pool, "mode": "b"}
    assert raw["data"] == data
    client = host.client()
    assert [c["id"] for c in client.list_clusters()] == ["c1"]
    assert client.get_cluster("c1").get_settings().get_plugin_data() == data

    host.stop_cluster("c1")
    assert (workdir / "stopped").read_text() == str(workdir)
    assert host.cluster_settings("c1")["data"] is None


def test_macro_reads_the_cluster_as_dataikus_plugins_do(host):
    pool = host.define_preset("pool", "big", {"machine": "n2-standard-8"})
    host.start_cluster("echo-cluster", "c2", {"mode": "b", "pool": pool})
    host.plugin_settings["greeting"] = "hi"
    # From the cluster's Actions tab, from a scenario's "Run macro" step, from the Macros menu.
    runs = [
        host.run_cluster_action("read-cluster", "c2"),
        host.run_scenario_macro("pyrunnable_harness-fixture_read-cluster", {"clusterId": "c2"}),
        host.run_macro("read-cluster", {"clusterId": "c2"}, project_key="DKU_TSHIRTS"),
    ]
    for run in runs:
        assert run.progress_target == [3, "NONE"]
        assert run.progress == [1, 2, 3]
    # An edited preset is what the next run resolves.
    host.define_preset("pool", "big", {"machine": "c3-standard-4"})
    after = host.run_macro("read-cluster", {"clusterId": "c2"}, project_key="DKU_TSHIRTS")
    workdir = host.cluster_dir("c2")
    assert runs[2].result == f"<p>DKU_TSHIRTS b {workdir} n2-standard-8 hi</p>"
    assert after.result == f"<p>DKU_TSHIRTS b {workdir} c3-standard-4 hi</p>"


def test_macro_failure_is_reported(host):
    with pytest.raises(ComponentFailed, match="Cluster nope does not exist"):
        host.run_macro("read-cluster", {"clusterId": "nope"})
    # Outside a cluster's Actions tab only a declared clusterId param carries the cluster.
    with pytest.raises(ComponentFailed, match=r"KeyError: 'clusterId'"):
        host.run_macro("read-cluster", {"cluster": "c2"})


def macro_code(tmp_path, code: str):
    """A copy of the fixture whose read-cluster macro is `code`; installed."""
    tree = broken_copy(tmp_path, lambda t: None)
    (tree / "python-runnables" / "read-cluster" / "runnable.py").write_text(code)
    return tree


def install(code_env, tmp_path, tree) -> DssHost:
    host = DssHost(tmp_path / "dip_home2", code_env)
    host.install(zip_tree(tree, tmp_path / "copy.zip"))
    return host


def test_macro_class_is_found_as_dss_finds_it(code_env, tmp_path):
    # An imported subclass counts: with one defined beside it, DSS cannot choose.
    (tmp_path / "a").mkdir()
    tree = macro_code(
        tmp_path / "a",
        "from fixture_lib import Base\n\n\nclass Mine(Base):\n    pass\n",
    )
    (tree / "python-lib" / "fixture_lib" / "__init__.py").write_text(
        (FIXTURE / "python-lib" / "fixture_lib" / "__init__.py").read_text()
        + "\n\nfrom dataiku.runnables import Runnable\n\n\nclass Base(Runnable):\n"
        "    def run(self, progress_callback):\n        return 'base'\n"
    )
    host = install(code_env, tmp_path / "a", tree)
    try:
        with pytest.raises(ComponentFailed, match=r"Ambiguous.*\(Base, Mine\)"):
            host.run_macro("read-cluster", {"clusterId": "x"})
    finally:
        host.close()
    # None at all.
    (tmp_path / "b").mkdir()
    host = install(code_env, tmp_path / "b", macro_code(tmp_path / "b", "x = 1\n"))
    try:
        with pytest.raises(ComponentFailed, match="No class extending Runnable"):
            host.run_macro("read-cluster", {"clusterId": "x"})
    finally:
        host.close()
    # The constructor by its number of arguments; a dict result sent as JSON.
    (tmp_path / "c").mkdir()
    code = (
        "from dataiku.runnables import Runnable\n\n\nclass Two(Runnable):\n"
        "    def __init__(self, project_key, config):\n        self.config = config\n\n"
        "    def get_progress_target(self):\n        return None\n\n"
        "    def run(self, progress_callback):\n"
        "        return {'steps': repr(self.config['steps'])}\n"
    )
    host = install(code_env, tmp_path / "c", macro_code(tmp_path / "c", code))
    try:
        run = host.run_macro("read-cluster", {"clusterId": "x", "steps": 2})
        # DSS hands INT params over as floats (an integral 2.0): components must accept it.
        assert json.loads(run.result) == {"steps": "2.0"}
    finally:
        host.close()


def test_recipe_reads_and_writes_folders_and_datasets(host):
    (host.folder("in") / "sub").mkdir()
    (host.folder("in") / "sub" / "a.txt").write_text("A")
    host.run_recipe("copy-folder", {"source": ["in"]}, {"target": ["out"], "report": ["rows"]}, {})
    assert (host.folder("out") / "sub" / "a.txt.copy").read_text() == "A"
    assert host.dataset_rows("rows") == [{"path": "/sub/a.txt", "action": "copied"}]


def test_step_failure_fails_with_its_reason(host):
    host.run_step("maybe-fail", {})  # the default (false) resolved
    with pytest.raises(ComponentFailed) as info:
        host.run_step("maybe-fail", {"fail": True})
    assert info.value.message == "asked to fail by a step saved as ['fail']"


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


def test_descriptors_in_dataikus_styles_are_accepted(tmp_path):
    """What Dataiku's published plugins ship: comments, unnamed separators, a CLUSTER param
    beside targetParamsKey, the DSS param and result types they use."""

    def dataiku_style(tree):
        (tree / "python-runnables" / "read-cluster" / "runnable.json").write_text(
            """/* A macro of a cluster's Actions tab, as Dataiku writes them. */
{
    "meta": {"label": "Read cluster", "description": "", "icon": "icon-info"},
    // who may run it
    "impersonate": false,
    "permissions": [],
    "resultType": "RESULT_TABLE",
    "resultLabel": "Result",
    "macroRoles": [{"type": "CLUSTER", "targetParamsKey": "clusterId", "limitToSamePlugin": true}],
    "params": [
        {"name": "clusterId", "label": "Cluster", "type": "CLUSTER", "mandatory": true},
        {"label": "Options", "type": "SEPARATOR"},
        {"name": "steps", "label": "Steps", "type": "INT", "defaultValue": 3},
        {"name": "labels", "label": "Labels", "type": "KEY_VALUE_LIST"},
        {"name": "tags", "label": "Tags", "type": "MAP"},
        {"name": "rules", "label": "Rules", "type": "OBJECT_LIST",
         "subParams": [{"name": "r", "label": "R", "type": "STRING"}]},
        {"name": "folder", "label": "Folder", "type": "MANAGED_FOLDER"},
        {"name": "ds", "label": "Dataset", "type": "DATASET"},
        {"name": "cols", "label": "Columns", "type": "COLUMNS", "columnRole": "main"},
        {"name": "creds", "label": "Credentials", "type": "CREDENTIAL_REQUEST",
         "credentialRequestSettings": {"type": "BASIC"}},
        {"name": "ratio", "label": "Ratio", "type": "DOUBLE", "defaultValue": 0.5}, // trailing
        {"name": "url", "label": "URL", "type": "STRING", "defaultValue": "http://a/*b*/"}
    ]
}
"""
        )

    tree = broken_copy(tmp_path, dataiku_style)
    assert validate_plugin(tree) == []


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
