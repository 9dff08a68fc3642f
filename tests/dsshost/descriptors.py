"""Checks a plugin's descriptors the way DSS reads them (../shared/dss-plugin-contract.md)."""

import json
import pathlib
import re

# DSS's parameter types (its plugin reference: basic, complex, DSS objects, others).
PARAM_TYPES = {
    "BOOLEAN", "DATE", "DOUBLE", "DOUBLES", "INT", "PASSWORD", "STRING", "STRINGS", "TEXTAREA",
    "ARRAY", "KEY_VALUE_LIST", "MAP", "MULTISELECT", "OBJECT_LIST", "SELECT",
    "API_SERVICE", "API_SERVICE_VERSION", "BUNDLE", "CLUSTER", "CODE_ENV", "COLUMN", "COLUMNS",
    "CONNECTION", "CONNECTIONS", "DATASET", "DATASET_COLUMN", "DATASET_COLUMNS", "DATASETS",
    "MANAGED_FOLDER", "MODEL_EVALUATION_STORE", "PROJECT", "SAVED_MODEL", "SCENARIO",
    "VISUAL_ANALYSIS", "WEBAPP", "CREDENTIAL_REQUEST", "PRESET", "PRESETS", "SEPARATOR",
}  # fmt: skip
# Types whose value is the name or id of something (a string).
NAME_TYPES = {
    "STRING", "PASSWORD", "TEXTAREA", "DATE", "API_SERVICE", "API_SERVICE_VERSION", "BUNDLE",
    "CLUSTER", "CODE_ENV", "COLUMN", "CONNECTION", "DATASET", "DATASET_COLUMN",
    "MANAGED_FOLDER", "MODEL_EVALUATION_STORE", "PROJECT", "SAVED_MODEL", "SCENARIO",
    "VISUAL_ANALYSIS", "WEBAPP",
}  # fmt: skip
NAME_LIST_TYPES = {"STRINGS", "COLUMNS", "CONNECTIONS", "DATASETS", "DATASET_COLUMNS"}
MACRO_ROLES = {
    "CLUSTER", "DATASET", "DATASETS", "MANAGED_FOLDER", "SAVED_MODEL", "PROJECT_MACROS",
    "API_SERVICE", "API_SERVICE_VERSION", "BUNDLE", "VISUAL_ANALYSIS", "PROJECT_CREATOR",
}  # fmt: skip
RESULT_TYPES = {"HTML", "RESULT_TABLE", "JSON_OBJECT", "FILE", "FOLDER_FILE", "URL", "NONE"}
ARCHITECTURES = {"KUBERNETES", "HADOOP"}
COMPONENTS = {
    # folder: (descriptor, code file)
    "python-clusters": ("cluster.json", "cluster.py"),
    "python-runnables": ("runnable.json", "runnable.py"),
    "custom-recipes": ("recipe.json", "recipe.py"),
    "python-steps": ("step.json", "step.py"),
}


def load_descriptor(text: str):
    """A descriptor's JSON as DSS reads it: `//` and `/* */` comments allowed (Dataiku's own
    plugins have them), anything else strict JSON."""
    out = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
            out.append(c)
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise ValueError("unterminated /* comment")
            out.append(" ")
            i = end + 2
            continue
        else:
            out.append(c)
        i += 1
    return json.loads("".join(out))


def _default_ok(ptype: str, value, param: dict) -> bool:
    if ptype in NAME_TYPES:
        return isinstance(value, str)
    if ptype in NAME_LIST_TYPES:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if ptype == "DOUBLES":
        return isinstance(value, list) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
        )
    if ptype == "ARRAY":
        return isinstance(value, list)
    if ptype == "SELECT":
        return isinstance(value, str) and value in _choices(param)
    if ptype == "MULTISELECT":
        return isinstance(value, list) and all(v in _choices(param) for v in value)
    if ptype == "INT":
        return isinstance(value, int) and not isinstance(value, bool)
    if ptype == "DOUBLE":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if ptype == "BOOLEAN":
        return isinstance(value, bool)
    if ptype == "MAP":
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    if ptype == "KEY_VALUE_LIST":
        return isinstance(value, list) and all(
            isinstance(v, dict) and set(v) == {"from", "to"} for v in value
        )
    if ptype == "OBJECT_LIST":
        return isinstance(value, list) and all(isinstance(v, dict) for v in value)
    return False  # SEPARATOR, PRESET, PRESETS, CREDENTIAL_REQUEST take no default


def _choices(param: dict) -> list:
    return [c.get("value") for c in param.get("selectChoices", [])]


def check_params(params, where: str, parameter_sets: set) -> list:
    """Problems with one `params` list, as `where › name: what`."""
    problems = []
    if not isinstance(params, list):
        return [f"{where}: params must be a list"]
    names = [p.get("name") for p in params if isinstance(p, dict)]
    for dup in sorted({n for n in names if names.count(n) > 1 and n}):
        problems.append(f"{where} › {dup}: defined twice")
    for param in params:
        if not isinstance(param, dict):
            problems.append(f"{where}: a param is not an object")
            continue
        name = param.get("name")
        ptype = param.get("type")
        at = f"{where} › {name or ptype}"
        if ptype not in PARAM_TYPES:
            problems.append(f"{at}: unknown type {ptype!r}")
            continue
        if ptype == "SEPARATOR" and name is None:
            pass  # DSS shows a separator with no name; Dataiku's plugins have such
        elif not name or not isinstance(name, str):
            problems.append(f"{where}: a param has no name")
            continue
        if ptype != "SEPARATOR" and not param.get("label"):
            problems.append(f"{at}: no label")
        if ptype in ("SELECT", "MULTISELECT"):
            choices = param.get("selectChoices")
            if not choices or not all(isinstance(c, dict) and "value" in c for c in choices):
                problems.append(f"{at}: {ptype} needs selectChoices of {{value, label}}")
        if ptype in ("PRESET", "PRESETS"):
            set_id = param.get("parameterSetId")
            if set_id not in parameter_sets:
                problems.append(f"{at}: parameterSetId {set_id!r} is not a parameter set")
        if "defaultValue" in param and not _default_ok(ptype, param["defaultValue"], param):
            problems.append(
                f"{at}: defaultValue {param['defaultValue']!r} does not fit type {ptype}"
                + (" (not among selectChoices)" if ptype in ("SELECT", "MULTISELECT") else "")
            )
        if "mandatory" in param and not isinstance(param["mandatory"], bool):
            problems.append(f"{at}: mandatory must be true or false")
        condition = param.get("visibilityCondition")
        if condition is not None:
            for ref in re.findall(r"model\.([A-Za-z_][A-Za-z0-9_]*)", str(condition)):
                if ref not in names:
                    problems.append(f"{at}: visibilityCondition names unknown param {ref!r}")
        if ptype == "OBJECT_LIST":
            problems += check_params(param.get("subParams", []), at, parameter_sets)
    return problems


def _load(path: pathlib.Path, problems: list):
    try:
        return load_descriptor(path.read_text())
    except (OSError, ValueError) as e:
        problems.append(f"{path.name}: unreadable JSON ({e})")
        return None


def validate_plugin(root: pathlib.Path) -> list:
    """Every problem DSS (or an admin) would hit with the plugin installed at `root`."""
    root = pathlib.Path(root)
    problems = []
    plugin = _load(root / "plugin.json", problems) or {}
    for key in ("id", "version"):
        if not plugin.get(key):
            problems.append(f"plugin.json: no {key}")
    if not (plugin.get("meta") or {}).get("label"):
        problems.append("plugin.json: no meta.label")

    sets_dir = root / "parameter-sets"
    parameter_sets = (
        {p.name for p in sets_dir.iterdir() if p.is_dir()} if sets_dir.is_dir() else set()
    )
    problems += check_params(plugin.get("params", []), "plugin.json", parameter_sets)
    for set_id in sorted(parameter_sets):
        desc = _load(sets_dir / set_id / "parameter-set.json", problems)
        if desc is None:
            continue
        where = f"parameter-sets/{set_id}"
        if not (desc.get("meta") or {}).get("label"):
            problems.append(f"{where}: no meta.label")
        problems += check_params(desc.get("params", []), where, parameter_sets)
        problems += check_params(desc.get("pluginParams", []), f"{where} (plugin)", parameter_sets)

    for folder, (descriptor, code) in COMPONENTS.items():
        base = root / folder
        for comp in sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []:
            where = f"{folder}/{comp.name}"
            if not (comp / code).is_file():
                problems.append(f"{where}: no {code}")
            desc = _load(comp / descriptor, problems)
            if desc is None:
                continue
            if not (desc.get("meta") or {}).get("label"):
                problems.append(f"{where}: no meta.label")
            problems += check_params(desc.get("params", []), where, parameter_sets)
            if folder == "python-clusters" and desc.get("architecture") not in ARCHITECTURES:
                problems.append(f"{where}: architecture must be one of {sorted(ARCHITECTURES)}")
            if folder == "python-runnables":
                problems += _check_macro(desc, where)
            if folder == "custom-recipes":
                problems += _check_recipe(desc, where)
    return problems


def _check_macro(desc: dict, where: str) -> list:
    problems = []
    if desc.get("resultType") not in RESULT_TYPES:
        problems.append(f"{where}: resultType {desc.get('resultType')!r} is not one of DSS's")
    for role in desc.get("macroRoles", []):
        if role.get("type") not in MACRO_ROLES:
            problems.append(f"{where}: macroRoles type {role.get('type')!r} is unknown")
        # A param of the same name beside targetParamsKey is what every Dataiku cluster macro
        # has (the Actions tab fills it; elsewhere the user picks the cluster there).
        if role.get("type") == "CLUSTER" and not role.get("targetParamsKey"):
            problems.append(f"{where}: a CLUSTER macroRole needs targetParamsKey")
    return problems


def _check_recipe(desc: dict, where: str) -> list:
    problems = []
    if desc.get("kind") != "PYTHON":
        problems.append(f"{where}: kind must be PYTHON")
    for side in ("inputRoles", "outputRoles"):
        for role in desc.get(side, []):
            if not role.get("name"):
                problems.append(f"{where}: a role of {side} has no name")
            if role.get("arity", "UNARY") not in ("UNARY", "NARY"):
                problems.append(f"{where} › {role.get('name')}: arity must be UNARY or NARY")
            if not (role.get("acceptsDataset", True) or role.get("acceptsManagedFolder")):
                problems.append(f"{where} › {role.get('name')}: accepts neither dataset nor folder")
    return problems
