//! The plan: for each DSS setting the action manages, what it is now, what it would become, and
//! whether the action may change it (it never rewrites a setting it did not create, unless
//! asked, and never deletes one). Applying it marks each step with its outcome.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::dss_setup::fields::{self, ByHand, GcsKey, Layout, Managed, Spec};
use crate::dss_setup::request::SetupRequest;

/// What a step does or did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Planned: it will be created.
    Create,
    /// Planned: it will be updated.
    Update,
    /// Already as wanted.
    Unchanged,
    /// Left alone (the step's reason says why).
    Skipped,
    /// Not something the action writes: the admin does it in DSS (the reason says where).
    ByHand,
    Created,
    Updated,
    Failed,
    /// Not run: an earlier step failed.
    NotReached,
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Create => "will create",
            Outcome::Update => "will update",
            Outcome::Unchanged => "unchanged",
            Outcome::Skipped => "skipped",
            Outcome::ByHand => "by hand",
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Failed => "failed",
            Outcome::NotReached => "not reached",
        }
    }

    fn is_pending(&self) -> bool {
        matches!(self, Outcome::Create | Outcome::Update)
    }
}

/// Which write a step belongs to: the steps of one target succeed or fail together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Repository,
    /// Containerized execution and Spark configs: one save of DSS's general settings.
    GeneralSettings,
    Connection(String),
    /// Nothing the action writes.
    None,
}

/// One field as it is and as it would be (secrets shown as what they are, never their text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// One DSS setting (or the repository) and what happens to it.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// "Containerized execution config", "Spark config", "GCS connection", ...
    pub what: String,
    pub name: String,
    pub outcome: Outcome,
    /// Why it is skipped, by hand or failed; what it is for otherwise.
    pub why: String,
    pub changes: Vec<FieldChange>,
    #[serde(skip)]
    pub target: Target,
}

/// A connection to create or save, whole (its body holds the key: never shown or logged).
#[derive(Clone)]
pub struct ConnectionWrite {
    pub name: String,
    pub create: bool,
    pub body: Value,
}

impl std::fmt::Debug for ConnectionWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionWrite")
            .field("name", &self.name)
            .field("create", &self.create)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// DSS's whole general settings with the changes made, when there are any.
    #[serde(skip)]
    pub general_settings: Option<Value>,
    #[serde(skip)]
    pub connection_writes: Vec<ConnectionWrite>,
}

impl Plan {
    /// Marks the pending steps of `target` done, or failed with `error`; after a failure the
    /// pending steps of other targets are not reached when they depend on it (the repository
    /// and the general settings come before everything else).
    pub fn done(&mut self, target: Target, result: Result<(), String>) {
        let stops = matches!(target, Target::Repository | Target::GeneralSettings);
        for step in self.steps.iter_mut().filter(|s| s.target == target) {
            match (&result, &step.outcome) {
                (Ok(()), Outcome::Create) => step.outcome = Outcome::Created,
                (Ok(()), Outcome::Update) => step.outcome = Outcome::Updated,
                (Err(e), o) if o.is_pending() => {
                    step.outcome = Outcome::Failed;
                    step.why = e.clone();
                }
                _ => {}
            }
        }
        if result.is_err() && stops {
            for step in self.steps.iter_mut().filter(|s| s.outcome.is_pending()) {
                step.outcome = Outcome::NotReached;
                step.why = "not run: an earlier step failed".into();
            }
        }
    }

    /// The repository was created before this plan was made again.
    pub fn created_repository(&mut self) {
        for step in self
            .steps
            .iter_mut()
            .filter(|s| s.target == Target::Repository)
        {
            step.outcome = Outcome::Created;
        }
    }

    pub fn failed(&self) -> bool {
        self.steps.iter().any(|s| s.outcome == Outcome::Failed)
    }

    /// Whether applying it would change anything in DSS or the registry.
    pub fn changes_anything(&self) -> bool {
        self.steps.iter().any(|s| s.outcome.is_pending())
    }
}

/// The plan for `request` on DSS's general settings and connections as they are now
/// (`connections`: each wanted name and its settings, `None` when there is no such connection).
pub fn plan(
    request: &SetupRequest,
    gcs_key: &GcsKey,
    repository_exists: bool,
    general: &Value,
    connections: &[(String, Option<Value>)],
) -> Plan {
    let registry = request.registry();
    let mut steps = vec![Step {
        what: "Artifact Registry repository".into(),
        name: registry.clone(),
        outcome: match (repository_exists, request.push.options.create_repository) {
            (true, _) => Outcome::Unchanged,
            (false, true) => Outcome::Create,
            (false, false) => Outcome::Skipped,
        },
        why: match (repository_exists, request.push.options.create_repository) {
            (true, _) => "exists (DOCKER format)".into(),
            (false, true) => "DOCKER format, where the configs' images are pushed".into(),
            (false, false) => "missing, and creating it is not allowed: the push will fail; create it or tick \"Create the repository if missing\"".into(),
        },
        changes: Vec::new(),
        target: Target::Repository,
    }];
    let mut settings = general.clone();
    let mut general_changed = false;
    let layout = fields::layout(general);
    for spec in [
        fields::container_config(request, &registry),
        fields::spark_config(request, &registry),
    ] {
        let list_path = spec.list;
        match layout {
            Layout::BuildConfigs => steps.push(Step {
                what: spec.what.into(),
                name: spec.name.clone(),
                outcome: Outcome::Skipped,
                why: fields::BUILD_CONFIGS_WHY.into(),
                changes: Vec::new(),
                target: Target::None,
            }),
            Layout::Flat => {
                let list = list_at(&mut settings, list_path);
                let index = list
                    .iter()
                    .position(|c| c.get("name").and_then(Value::as_str) == Some(&spec.name));
                let existing = index.map(|i| list[i].clone());
                let (step, updated) = decide(&spec, existing.as_ref(), request.take_over, None);
                match (index, updated) {
                    (Some(i), Some(new)) => list[i] = new,
                    (None, Some(new)) => list.push(new),
                    (_, None) => {}
                }
                general_changed |= step.outcome.is_pending();
                steps.push(Step {
                    target: Target::GeneralSettings,
                    ..step
                });
            }
        }
        steps.extend(by_hand(spec.what, &spec.name, &spec.by_hand));
    }
    steps.extend(by_hand(
        "DSS setting",
        "",
        &fields::instance_by_hand(request),
    ));
    let mut connection_writes = Vec::new();
    for ((name, bucket), (_, existing)) in request.connections.iter().zip(connections) {
        let spec = fields::gcs_connection(request, name, bucket, gcs_key);
        let (step, updated) = decide(&spec, existing.as_ref(), request.take_over, Some("GCS"));
        if let Some(new) = updated {
            connection_writes.push(ConnectionWrite {
                name: name.clone(),
                create: existing.is_none(),
                body: if existing.is_none() {
                    fields::connection_create_body(name, &new)
                } else {
                    new
                },
            });
        }
        steps.push(Step {
            target: Target::Connection(name.clone()),
            ..step
        });
        steps.extend(by_hand(spec.what, &spec.name, &spec.by_hand));
    }
    Plan {
        steps,
        general_settings: general_changed.then_some(settings),
        connection_writes,
    }
}

/// The array at `path` in `settings`, made (empty) where missing.
fn list_at<'a>(settings: &'a mut Value, path: &[&str]) -> &'a mut Vec<Value> {
    let mut here = settings;
    for key in path {
        if !here.is_object() {
            *here = Value::Object(Map::new());
        }
        here = here
            .as_object_mut()
            .expect("an object")
            .entry(key.to_string())
            .or_insert(Value::Null);
    }
    if !here.is_array() {
        *here = Value::Array(Vec::new());
    }
    here.as_array_mut().expect("an array")
}

fn get<'a>(object: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(object, |v, k| v.get(k))
}

fn set(object: &mut Value, path: &[&str], value: Value) {
    let mut here = object;
    for key in &path[..path.len() - 1] {
        if !here.get(key).is_some_and(Value::is_object) {
            here[*key] = Value::Object(Map::new());
        }
        here = &mut here[*key];
    }
    here[path[path.len() - 1]] = value;
}

/// A field's value as a plan shows it.
fn shown(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "—".into(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

/// The step for one setting, and its new JSON when it changes.
fn decide(
    spec: &Spec,
    existing: Option<&Value>,
    take_over: bool,
    required_type: Option<&str>,
) -> (Step, Option<Value>) {
    let step = |outcome, why: String, changes| Step {
        what: spec.what.into(),
        name: spec.name.clone(),
        outcome,
        why,
        changes,
        target: Target::None,
    };
    let Some(existing) = existing else {
        let mut new = spec.template.clone();
        let mut changes = Vec::new();
        for field in &spec.managed {
            set(&mut new, field.path, field.value.clone());
            changes.push(FieldChange {
                field: field.label.into(),
                before: "—".into(),
                after: shown(Some(&field.value)),
            });
        }
        return (
            step(Outcome::Create, spec.purpose.clone(), changes),
            Some(new),
        );
    };
    if let Some(wanted) = required_type {
        let found = existing.get("type").and_then(Value::as_str).unwrap_or("");
        if found != wanted {
            return (
                step(
                    Outcome::Skipped,
                    format!("a connection of this name exists with type {found:?}, not {wanted}: left alone; choose another connection prefix"),
                    Vec::new(),
                ),
                None,
            );
        }
    }
    let changes: Vec<(&Managed, FieldChange)> = spec
        .managed
        .iter()
        .filter(|f| get(existing, f.path) != Some(&f.value))
        .map(|f| {
            (
                f,
                FieldChange {
                    field: f.label.into(),
                    before: shown(get(existing, f.path)),
                    after: shown(Some(&f.value)),
                },
            )
        })
        .collect();
    if changes.is_empty() {
        return (
            step(Outcome::Unchanged, spec.purpose.clone(), Vec::new()),
            None,
        );
    }
    let ours = spec.marker.is_on(existing);
    let shown_changes = changes.iter().map(|(_, c)| c.clone()).collect();
    if !ours && !take_over {
        let differs: Vec<String> = changes
            .iter()
            .map(|(_, c)| format!("{} is {}", c.field, c.before))
            .collect();
        return (
            step(
                Outcome::Skipped,
                format!(
                    "exists, was not created by gke-native, and differs ({}): left alone; tick \"Update settings gke-native did not create\" to change it",
                    differs.join(", ")
                ),
                shown_changes,
            ),
            None,
        );
    }
    let mut new = existing.clone();
    for (field, _) in &changes {
        set(&mut new, field.path, field.value.clone());
    }
    let why = if ours {
        spec.purpose.clone()
    } else {
        spec.marker.put_on(&mut new);
        format!(
            "{} (taken over: it was not created by gke-native)",
            spec.purpose
        )
    };
    (step(Outcome::Update, why, shown_changes), Some(new))
}

fn by_hand(what: &str, name: &str, fields: &[ByHand]) -> Vec<Step> {
    fields
        .iter()
        .map(|h| Step {
            what: what.into(),
            name: name.into(),
            outcome: Outcome::ByHand,
            why: format!("{} — {}", h.where_, h.why),
            changes: vec![FieldChange {
                field: h.label.clone(),
                before: String::new(),
                after: h.value.clone(),
            }],
            target: Target::None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::record::DssCluster;
    use serde_json::json;

    fn request(config: Value, key: &str) -> SetupRequest {
        let cluster = DssCluster::from_record(&json!({
            "id": "c1", "type": "pycluster_gke-native_create-gke-cluster",
            "config": {"connection": {"service_account_key": key}}, "plugin_config": {},
            "data": {"version": 2, "project": "dss-prod", "location": "europe-west1-b", "name": "c1"},
        }))
        .unwrap();
        SetupRequest::from_dss(&config, &cluster).unwrap()
    }

    fn fresh_dss() -> Value {
        json!({
            "containerSettings": {"executionConfigs": []},
            "sparkSettings": {"executionConfigs": [{"name": "default", "conf": []}]},
            "ldapSettings": {"enabled": false},
        })
    }

    fn outcomes(plan: &Plan) -> Vec<(String, Outcome)> {
        plan.steps
            .iter()
            .filter(|s| s.outcome != Outcome::ByHand)
            .map(|s| (s.name.clone(), s.outcome.clone()))
            .collect()
    }

    const KEY: &str = r#"{"type": "service_account", "client_email": "dss@p.iam.gserviceaccount.com", "private_key": "s3cret"}"#;

    #[test]
    fn a_fresh_dss_gets_the_configs_and_a_second_run_changes_nothing() {
        let r = request(json!({"buckets": ["data-eu"]}), KEY);
        let key = GcsKey::of(&r.gcs_key).unwrap();
        let p = plan(
            &r,
            &key,
            false,
            &fresh_dss(),
            &[("gcs-data-eu".into(), None)],
        );
        let registry = "europe-west1-docker.pkg.dev/dss-prod/dss-images";
        assert_eq!(
            outcomes(&p),
            vec![
                (registry.to_string(), Outcome::Create),
                ("gke-c1".into(), Outcome::Create),
                ("gke-c1-spark".into(), Outcome::Create),
                ("gcs-data-eu".into(), Outcome::Create),
            ]
        );
        let settings = p.general_settings.clone().unwrap();
        let exec = &settings["containerSettings"]["executionConfigs"][0];
        assert_eq!(exec["repositoryURL"], registry);
        assert_eq!(exec["type"], "KUBERNETES");
        let spark = &settings["sparkSettings"]["executionConfigs"];
        assert_eq!(spark[0]["name"], "default", "the others are kept");
        assert_eq!(spark[1]["kubernetesSettings"]["managedKubernetes"], true);
        assert_eq!(settings["ldapSettings"], json!({"enabled": false}));
        let write = &p.connection_writes[0];
        assert!(write.create);
        assert_eq!(write.body["type"], "GCS");
        assert_eq!(write.body["params"]["credentialsMode"], "KEYPAIR");
        let shown = serde_json::to_string(&p).unwrap() + &format!("{p:?}");
        assert!(
            !shown.contains("s3cret") && shown.contains("dss@p.iam"),
            "{shown}"
        );

        // DSS as the first run left it.
        let mut connection = write.body.clone();
        connection.as_object_mut().unwrap().remove("name");
        let again = plan(
            &r,
            &key,
            true,
            &settings,
            &[("gcs-data-eu".into(), Some(connection))],
        );
        assert!(!again.changes_anything(), "{:?}", outcomes(&again));
        assert!(again.general_settings.is_none() && again.connection_writes.is_empty());
    }

    #[test]
    fn a_config_someone_else_made_is_left_alone_unless_taken_over() {
        let mut dss = fresh_dss();
        dss["containerSettings"]["executionConfigs"] =
            json!([{"name": "gke-c1", "type": "KUBERNETES", "repositoryURL": "eu.gcr.io/other"}]);
        let r = request(json!({}), "");
        let p = plan(&r, &GcsKey::Host, true, &dss, &[]);
        let exec = p.steps.iter().find(|s| s.name == "gke-c1").unwrap();
        assert_eq!(exec.outcome, Outcome::Skipped);
        assert!(
            exec.why.contains("Image registry URL is eu.gcr.io/other"),
            "{}",
            exec.why
        );
        let settings = p.general_settings.unwrap();
        assert_eq!(
            settings["containerSettings"]["executionConfigs"][0]["repositoryURL"],
            "eu.gcr.io/other"
        );

        let r = request(json!({"take_over": true}), "");
        let p = plan(&r, &GcsKey::Host, true, &dss, &[]);
        let exec = p.steps.iter().find(|s| s.name == "gke-c1").unwrap();
        assert_eq!(exec.outcome, Outcome::Update);
        let taken = &p.general_settings.unwrap()["containerSettings"]["executionConfigs"][0];
        assert_eq!(taken["repositoryURL"], r.registry());
        assert!(fields::Marker::Property(String::new()).is_on(taken));
        assert_eq!(taken["type"], "KUBERNETES");
    }

    #[test]
    fn newer_layouts_and_other_connection_types_are_not_written() {
        let mut dss = fresh_dss();
        dss["containerSettings"]["buildConfigs"] = json!([]);
        let r = request(json!({"buckets": ["data-eu"], "take_over": true}), "");
        let existing = json!({"type": "EC2", "params": {}});
        let p = plan(
            &r,
            &GcsKey::Host,
            true,
            &dss,
            &[("gcs-data-eu".into(), Some(existing))],
        );
        assert!(p.general_settings.is_none() && p.connection_writes.is_empty());
        let skipped: Vec<&str> = p
            .steps
            .iter()
            .filter(|s| s.outcome == Outcome::Skipped)
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(skipped, ["gke-c1", "gke-c1-spark", "gcs-data-eu"]);
    }

    #[test]
    fn a_failed_settings_save_stops_what_comes_after() {
        let r = request(json!({"buckets": ["data-eu"]}), "");
        let mut p = plan(
            &r,
            &GcsKey::Host,
            true,
            &fresh_dss(),
            &[("gcs-data-eu".into(), None)],
        );
        p.done(Target::GeneralSettings, Err("DSS said no".into()));
        assert_eq!(
            outcomes(&p)[1..],
            [
                ("gke-c1".into(), Outcome::Failed),
                ("gke-c1-spark".into(), Outcome::Failed),
                ("gcs-data-eu".into(), Outcome::NotReached),
            ]
        );
    }

    /// Generated DSS settings: whatever DSS holds, a plan changes only the settings the action
    /// names, leaves the others as they were (byte for byte, in order), never rewrites a setting
    /// it did not create unless asked, never shows the key, and once applied plans nothing more.
    mod properties {
        use super::*;
        use proptest::prelude::*;

        const NAMES: [&str; 4] = ["gke-c1", "gke-c1-spark", "default", "other"];

        fn maybe(v: impl Strategy<Value = Value>) -> impl Strategy<Value = Option<Value>> {
            proptest::option::of(v)
        }

        fn any_value() -> impl Strategy<Value = Value> {
            prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                (-3i64..3).prop_map(Value::from),
                "[a-z./-]{0,12}".prop_map(Value::from),
                Just(json!({})),
                Just(json!([])),
            ]
        }

        /// One entry of an execution-config list: a config of one of the names, with fields
        /// as the action writes them, as someone else did, or odd; or not a config at all.
        fn entry(name: &'static str) -> impl Strategy<Value = Value> {
            let config = (
                maybe(prop_oneof![
                    Just(json!("KUBERNETES")),
                    Just(json!("DOCKER")),
                    any_value()
                ]),
                maybe(prop_oneof![
                    Just(json!("europe-west1-docker.pkg.dev/dss-prod/dss-images")),
                    Just(json!("eu.gcr.io/other")),
                    any_value()
                ]),
                maybe(prop_oneof![
                    Just(json!([{"key": "gke-native", "value": "c1"}])),
                    Just(json!([{"key": "team", "value": "x"}])),
                    any_value()
                ]),
                maybe(prop_oneof![
                    Just(json!({"managedKubernetes": true})),
                    Just(json!({"managedKubernetes": false, "managedNamespace": "ns"})),
                    any_value()
                ]),
                maybe(prop_oneof![
                    Just(json!("Created by gke-native for cluster c1")),
                    Just(json!("made by hand")),
                    any_value()
                ]),
                maybe(any_value()),
            )
                .prop_map(move |(ty, url, props, k8s, description, extra)| {
                    let mut c = json!({"name": name});
                    for (key, v) in [
                        ("type", ty),
                        ("repositoryURL", url),
                        ("properties", props),
                        ("kubernetesSettings", k8s),
                        ("description", description),
                        ("extra", extra),
                    ] {
                        if let Some(v) = v {
                            c[key] = v;
                        }
                    }
                    c
                });
            prop_oneof![4 => config, 1 => any_value()]
        }

        fn section() -> impl Strategy<Value = Option<Value>> {
            let list = proptest::sample::subsequence(NAMES.to_vec(), 0..=4)
                .prop_flat_map(|names| names.into_iter().map(entry).collect::<Vec<_>>())
                .prop_map(|entries| json!({"executionConfigs": entries, "kept": 1}));
            maybe(prop_oneof![8 => list, 1 => any_value()])
        }

        fn connection() -> impl Strategy<Value = Option<Value>> {
            maybe(
                (
                    prop_oneof![Just("GCS"), Just("EC2")],
                    prop_oneof![
                        Just("Created by gke-native for cluster c1: bucket gs://data-eu"),
                        Just("ours by hand")
                    ],
                    maybe(Just(json!("KEYPAIR"))),
                    maybe(prop_oneof![Just(json!("/dataiku")), Just(json!("/x"))]),
                )
                    .prop_map(|(ty, description, mode, path)| {
                        let mut c = json!({"type": ty, "description": description,
                                           "params": {"chroot": "keep"}, "usableBy": "ALLOWED"});
                        if let Some(m) = mode {
                            c["params"]["credentialsMode"] = m;
                        }
                        if let Some(p) = path {
                            c["params"]["defaultManagedPath"] = p;
                        }
                        c
                    }),
            )
        }

        /// The entries of a list, by position, that are not configs the action names.
        fn others(settings: &Value, path: &[&str], ours: &str) -> Vec<Value> {
            get(settings, path)
                .and_then(Value::as_array)
                .map(|list| list.iter().filter(|c| c["name"] != ours).cloned().collect())
                .unwrap_or_default()
        }

        fn named<'a>(settings: &'a Value, path: &[&str], name: &str) -> Option<&'a Value> {
            get(settings, path)?
                .as_array()?
                .iter()
                .find(|c| c["name"] == name)
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]
            #[test]
            fn a_plan_changes_only_its_own_settings_and_applied_plans_nothing_more(
                container in section(),
                spark in section(),
                existing in connection(),
                take_over in any::<bool>(),
                keyed in any::<bool>(),
            ) {
                let mut dss = json!({"ldapSettings": {"enabled": false}});
                if let Some(c) = container { dss["containerSettings"] = c; }
                if let Some(s) = spark { dss["sparkSettings"] = s; }
                let config = json!({"buckets": ["data-eu"], "take_over": take_over});
                let r = request(config, if keyed { KEY } else { "" });
                let key = GcsKey::of(&r.gcs_key).unwrap();
                let connections = [("gcs-data-eu".to_string(), existing.clone())];
                let p = plan(&r, &key, true, &dss, &connections);

                let shown = serde_json::to_string(&p).unwrap() + &format!("{p:?}");
                prop_assert!(!shown.contains("s3cret"));

                // DSS as the apply leaves it.
                let after = p.general_settings.clone().unwrap_or_else(|| dss.clone());
                prop_assert_eq!(&after["ldapSettings"], &dss["ldapSettings"]);
                for (path, what, name) in [(CONTAINER_PATH, "Containerized execution config", "gke-c1"), (SPARK_PATH, "Spark config", "gke-c1-spark")] {
                    prop_assert_eq!(others(&after, path, name), others(&dss, path, name));
                    {
                        if let (Some(before), Some(now)) = (named(&dss, path, name), named(&after, path, name)) {
                        let step = p.steps.iter().find(|s| s.what == what && s.name == name && s.outcome != Outcome::ByHand).unwrap();
                        prop_assert_ne!(&step.outcome, &Outcome::Create);
                        let theirs = !(before["properties"].as_array().is_some_and(|ps| ps.iter().any(|p| p["key"] == "gke-native"))
                            || before["description"].as_str().is_some_and(|d| d.starts_with("Created by gke-native")));
                        if theirs && !take_over {
                            prop_assert_eq!(before, now, "someone else's {} was rewritten", name);
                        }
                        // Only what the action manages (and its marker) changes.
                        for key in ["type", "extra", "name"] {
                            if before.get(key).is_some() && before[key] != now[key] {
                                prop_assert!(key == "type" && (take_over || !theirs), "{} of {} changed", key, name);
                            }
                        }
                    }}
                }
                let mut stored = existing.clone();
                for write in &p.connection_writes {
                    prop_assert!(existing.as_ref().is_none_or(|e| e["type"] == "GCS"), "another type's connection written");
                    let mut body = write.body.clone();
                    body.as_object_mut().unwrap().remove("name");
                    if let Some(old) = &existing {
                        prop_assert_eq!(&body["params"]["chroot"], &old["params"]["chroot"]);
                    }
                    stored = Some(body);
                }
                if let (Some(old), None) = (&existing, p.connection_writes.first()) {
                    prop_assert_eq!(Some(old), stored.as_ref());
                }

                // Applied, it plans nothing more.
                let again = plan(&r, &key, true, &after, &[("gcs-data-eu".to_string(), stored)]);
                prop_assert!(!again.changes_anything(), "{:?}", outcomes(&again));
                prop_assert!(again.general_settings.is_none() && again.connection_writes.is_empty());
            }
        }

        const CONTAINER_PATH: &[&str] = fields::CONTAINER_CONFIGS;
        const SPARK_PATH: &[&str] = fields::SPARK_CONFIGS;
    }
}
