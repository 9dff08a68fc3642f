//! The action's report: a verdict, the DSS settings step by step (outcome and why), each field
//! before → after, the steps left to the admin, and the push of the base images.

use serde::Serialize;

use crate::dss_setup::plan::{Outcome, Plan, Step};
use crate::dss_setup::request::SetupRequest;
use crate::error::Result;
use crate::html::{Report, ToHtml, Verdict};
use crate::push::report::PushBatch;

#[derive(Debug, Clone, Serialize)]
pub struct SetupReport {
    pub cluster: String,
    /// `REGION-docker.pkg.dev/PROJECT/REPOSITORY`.
    pub registry: String,
    /// Whether the changes were made (else this is the plan).
    pub applied: bool,
    pub steps: Vec<Step>,
    /// The push of the base images, when it ran.
    pub push: Option<PushBatch>,
    /// Why the push could not start (no matching image, the Docker Engine unreachable, ...).
    pub push_error: Option<String>,
}

impl SetupReport {
    pub fn new(request: &SetupRequest, plan: Plan, pushed: Option<Result<PushBatch>>) -> Self {
        let (push, push_error) = match pushed {
            None => (None, None),
            Some(Ok(batch)) => (Some(batch), None),
            Some(Err(e)) => (None, Some(e.to_string())),
        };
        Self {
            cluster: request.cluster.clone(),
            registry: request.registry(),
            applied: request.apply,
            steps: plan.steps,
            push,
            push_error,
        }
    }

    fn count(&self, outcomes: &[Outcome]) -> usize {
        self.steps
            .iter()
            .filter(|s| outcomes.contains(&s.outcome))
            .count()
    }

    /// The steps that failed, the images that failed to push.
    pub fn failed(&self) -> usize {
        self.count(&[Outcome::Failed])
            + self.push.as_ref().map_or(0, PushBatch::failed)
            + usize::from(self.push_error.is_some())
    }

    /// The verdict line.
    pub fn summary(&self) -> String {
        let by_hand = self.count(&[Outcome::ByHand]);
        let skipped = self.count(&[Outcome::Skipped]);
        let tail =
            format!("{skipped} skipped, {by_hand} to do by hand in DSS (see the last table)");
        if !self.applied {
            let changes = self.count(&[Outcome::Create, Outcome::Update]);
            return match changes {
                0 => format!("Plan: nothing to change; {tail}. Nothing was touched."),
                n => format!(
                    "Plan: {n} change(s) to make; {tail}. Nothing was touched: tick \"Apply\" to make them."
                ),
            };
        }
        let done = self.count(&[Outcome::Created, Outcome::Updated]);
        let unchanged = self.count(&[Outcome::Unchanged]);
        match self.failed() {
            0 => format!("{done} created or updated, {unchanged} unchanged, {tail}."),
            n => format!(
                "{n} step(s) failed (rows marked failed): DSS's settings are as they were for those; {done} created or updated, {unchanged} unchanged, {tail}. Run the action again once the cause is fixed."
            ),
        }
    }
}

impl ToHtml for SetupReport {
    fn to_html(&self) -> String {
        let verdict = match (self.failed(), self.count(&[Outcome::Skipped])) {
            (0, 0) => Verdict::Ok,
            (0, _) => Verdict::Warning,
            _ => Verdict::Failed,
        };
        let title = if self.applied {
            format!("Set up DSS for cluster {}", self.cluster)
        } else {
            format!("Set up DSS for cluster {}: plan", self.cluster)
        };
        let written: Vec<&Step> = self
            .steps
            .iter()
            .filter(|s| s.outcome != Outcome::ByHand)
            .collect();
        let mut report = Report::new(&title)
            .verdict(verdict, &self.summary())
            .paragraph(&format!("Image registry: {}", self.registry))
            .table(
                &["setting", "name", "outcome", "why"],
                written.iter().map(|s| {
                    vec![
                        s.what.clone(),
                        s.name.clone(),
                        s.outcome.label().to_string(),
                        s.why.clone(),
                    ]
                }),
            );
        let fields: Vec<Vec<String>> = written
            .iter()
            .flat_map(|s| {
                s.changes.iter().map(|c| {
                    vec![
                        format!("{} {}", s.what, s.name),
                        c.field.clone(),
                        c.before.clone(),
                        c.after.clone(),
                        s.outcome.label().to_string(),
                    ]
                })
            })
            .collect();
        if !fields.is_empty() {
            report = report.table(&["setting", "field", "before", "after", "outcome"], fields);
        }
        let by_hand: Vec<&Step> = self
            .steps
            .iter()
            .filter(|s| s.outcome == Outcome::ByHand)
            .collect();
        if !by_hand.is_empty() {
            report = report
                .paragraph("Left to do by hand in DSS (the action does not write these settings: Dataiku's public material does not show their JSON):")
                .table(
                    &["setting", "field", "value", "where and why"],
                    by_hand.iter().map(|s| {
                        let c = s.changes.first();
                        vec![
                            format!("{} {}", s.what, s.name).trim().to_string(),
                            c.map(|c| c.field.clone()).unwrap_or_default(),
                            c.map(|c| c.after.clone()).unwrap_or_default(),
                            s.why.clone(),
                        ]
                    }),
                );
        }
        let mut html = report.finish();
        if let Some(batch) = &self.push {
            html.push_str(&batch.to_html());
        } else if let Some(e) = &self.push_error {
            html.push_str(
                &Report::new("Push base images")
                    .verdict(Verdict::Failed, e)
                    .finish(),
            );
        }
        html
    }
}
