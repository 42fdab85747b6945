//! `aos propose`, `proposals`, `shadow`, `approve`, `reject`, `apply`: the
//! governance loop (ARCHITECTURE.md, "Governance") for scripts. Each opens the world, does
//! one step at the head and prints what happened (JSON with `--json`).
//! Exit 1 when the world refuses (a rejected patch, apply before approve,
//! an unknown proposal), 2 when the command cannot run.

use super::common::{self, print_json, CliError};
use super::OpenArgs;
use aos_engine::air::{review, AirDiff, ChangeKind, PatchDoc};
use aos_engine::world::{ProposalStatus, ProposalView, ShadowReport, Workload, World};
use serde_json::{json, Value as Json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ProposeArgs {
    /// The world folder (the one holding air/).
    pub world: PathBuf,
    /// A patch document (JSON) or a whole alternative AIR folder (its air/ and plans/).
    pub patch: PathBuf,
    /// What the change is for (default: the patch's file or folder name).
    #[arg(long)]
    pub description: Option<String>,
    #[command(flatten)]
    pub durability: super::Durability,
    #[command(flatten)]
    pub common: OpenArgs,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// The world folder (the one holding air/).
    pub world: PathBuf,
    /// Also print each proposal's diff, as the inspector's review shows it.
    #[arg(long)]
    pub diff: bool,
    #[command(flatten)]
    pub common: super::ReadArgs,
}

#[derive(Debug, clap::Args)]
pub struct ProposalArgs {
    /// The world folder (the one holding air/).
    pub world: PathBuf,
    /// The proposal's id (the height of its Proposed entry); default: the newest open one.
    #[arg(long)]
    pub proposal: Option<u64>,
    #[command(flatten)]
    pub durability: super::Durability,
    #[command(flatten)]
    pub common: OpenArgs,
}

impl ProposalArgs {
    /// Puts `--fsync` into the options the world opens with.
    pub fn with_durability(&mut self) {
        self.common = self.durability.apply(&self.common);
    }
}

#[derive(Debug, clap::Args)]
pub struct ApproveArgs {
    #[command(flatten)]
    pub target: ProposalArgs,
    /// Who approves (default: $USER, else "cli").
    #[arg(long)]
    pub approver: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct RejectArgs {
    #[command(flatten)]
    pub target: ProposalArgs,
    /// Why the proposal is rejected (journaled).
    #[arg(long)]
    pub reason: String,
    /// Who rejects (default: $USER, else "cli").
    #[arg(long)]
    pub approver: Option<String>,
}

fn refused(message: impl Into<String>) -> CliError {
    CliError {
        message: message.into(),
        code: 1,
    }
}

fn approver(given: Option<&str>) -> String {
    given
        .map(str::to_string)
        .or_else(|| std::env::var("USER").ok())
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "cli".into())
}

pub fn propose(args: &ProposeArgs) -> Result<ExitCode, CliError> {
    let path = &args.patch;
    let doc = if path.is_dir() {
        None
    } else {
        Some(read_patch(path)?)
    };
    let description = args.description.clone().unwrap_or_else(|| {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string())
    });
    let mut world = common::open(&args.world, &args.common)?;
    let id = match doc {
        Some(doc) => world.propose(doc, &description)?,
        None => world.propose_dir(path, &description)?,
    };
    let view = proposal(&world, id)?;
    if args.common.json {
        print_json(&proposal_json(&view));
    } else {
        println!(
            "proposed #{id} \"{description}\" against manifest {}",
            view.base
        );
        print_diff_summary(view.diff.as_ref());
    }
    if let ProposalStatus::Rejected { reasons, .. } = &view.status {
        return Err(refused(format!(
            "proposal #{id} was rejected by the validator:\n{}",
            bullets(reasons)
        )));
    }
    if !args.common.json {
        println!("next: aos shadow {} --proposal {id}", args.world.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// A patch document file. One that does not parse is refused (exit 1),
/// one that cannot be read is a usage error (exit 2).
fn read_patch(path: &Path) -> Result<PatchDoc, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
    let json: Json = serde_json::from_str(&text)
        .map_err(|e| refused(format!("{}: not JSON: {e}", path.display())))?;
    PatchDoc::from_json(&json)
        .map_err(|e| refused(format!("{}: not a patch document: {e}", path.display())))
}

fn proposal(world: &World, id: u64) -> Result<ProposalView, CliError> {
    world
        .proposal(id)
        .ok_or_else(|| refused(format!("no proposal #{id}")))
}

fn is_open(status: &ProposalStatus) -> bool {
    !matches!(
        status,
        ProposalStatus::Rejected { .. } | ProposalStatus::Applied { .. }
    )
}

/// The proposal `--proposal` names, or the newest one still open.
fn target(world: &World, given: Option<u64>) -> Result<u64, CliError> {
    if let Some(id) = given {
        return Ok(id);
    }
    world
        .proposals()
        .iter()
        .rev()
        .find(|p| is_open(&p.status))
        .map(|p| p.id)
        .ok_or_else(|| {
            refused("no open proposal; make one with `aos propose WORLD PATCH.json|DIR`")
        })
}

pub fn list(args: &ListArgs) -> Result<ExitCode, CliError> {
    let world = common::open_reader(&args.world, &args.common.open_args())?;
    let all = world.proposals();
    if args.common.json {
        print_json(&Json::Array(all.iter().map(proposal_json).collect()));
        return Ok(ExitCode::SUCCESS);
    }
    if all.is_empty() {
        println!("no proposals");
    }
    for p in &all {
        let differ = p
            .diff
            .as_ref()
            .map(|d| format!(" · {} definition(s) differ", d.defs.len()))
            .unwrap_or_default();
        println!(
            "#{:<5} {:<30} {}{differ}",
            p.id,
            status_text(&p.status),
            p.description
        );
        if let (true, Some(diff)) = (args.diff, &p.diff) {
            print_review(diff);
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub struct ShadowArgs {
    #[command(flatten)]
    pub target: ProposalArgs,
    /// What the forks run: `scripted` (events.json), `inbox` (what is
    /// pending), or by default the scripted events when there are any.
    #[arg(long, value_parser = ["scripted", "inbox"])]
    pub workload: Option<String>,
}

pub fn shadow(shadow: &ShadowArgs) -> Result<ExitCode, CliError> {
    let args = &shadow.target;
    let workload = match shadow.workload.as_deref() {
        Some("scripted") => Workload::Scripted,
        Some("inbox") => Workload::Inbox,
        _ => Workload::Default,
    };
    let mut world = common::open(&args.world, &args.common)?;
    let id = target(&world, args.proposal)?;
    let report = world.shadow_with(id, workload)?;
    if args.common.json {
        print_json(&report_json(&report));
    } else {
        for line in report_lines(&report) {
            println!("{line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn approve(args: &ApproveArgs) -> Result<ExitCode, CliError> {
    let t = &args.target;
    let mut world = common::open(&t.world, &t.common)?;
    let id = target(&world, t.proposal)?;
    let who = approver(args.approver.as_deref());
    world.approve(id, &who)?;
    done(&world, id, &t.common, || {
        format!("approved #{id} (by {who})")
    })
}

pub fn reject(args: &RejectArgs) -> Result<ExitCode, CliError> {
    let t = &args.target;
    if args.reason.trim().is_empty() {
        return Err(CliError::usage("--reason must say why"));
    }
    let mut world = common::open(&t.world, &t.common)?;
    let id = target(&world, t.proposal)?;
    let who = approver(args.approver.as_deref());
    world.reject(id, &who, &args.reason)?;
    done(&world, id, &t.common, || {
        format!("rejected #{id} (by {who})")
    })
}

pub fn apply(args: &ProposalArgs) -> Result<ExitCode, CliError> {
    let mut world = common::open(&args.world, &args.common)?;
    let id = target(&world, args.proposal)?;
    let before = world.manifest_hash();
    let after = world.apply(id)?;
    done(&world, id, &args.common, || {
        format!("applied #{id}: manifest {before} → {after}")
    })
}

fn done(
    world: &World,
    id: u64,
    args: &OpenArgs,
    text: impl FnOnce() -> String,
) -> Result<ExitCode, CliError> {
    if args.json {
        print_json(&proposal_json(&proposal(world, id)?));
    } else {
        println!("{}", text());
    }
    Ok(ExitCode::SUCCESS)
}

fn bullets(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| format!("  - {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn status_text(s: &ProposalStatus) -> String {
    match s {
        ProposalStatus::Approved { approver } => format!("approved by {approver}"),
        ProposalStatus::Rejected { approver, .. } => format!("rejected by {approver}"),
        ProposalStatus::Applied { manifest_hash } => format!("applied ({})", manifest_hash.short()),
        other => other.label().to_string(),
    }
}

fn change_word(c: ChangeKind) -> &'static str {
    match c {
        ChangeKind::Added => "added",
        ChangeKind::Removed => "removed",
        ChangeKind::Changed => "changed",
    }
}

/// The review's summary block (ARCHITECTURE.md, "Governance": the
/// review), one line per changed definition, as the inspector shows it.
fn print_diff_summary(diff: Option<&AirDiff>) {
    let Some(diff) = diff else {
        return;
    };
    println!("{} definition(s) differ:", diff.defs.len());
    for line in review(diff).summary() {
        println!("  {}", line.text);
    }
}

/// The whole review: the summary block, then each definition's diff.
fn print_review(diff: &AirDiff) {
    let review = review(diff);
    for line in review.summary().into_iter().chain(review.lines()) {
        println!("  {}", line.text);
    }
}

/// The shadow report as text: the predictions a reviewer decides on.
pub fn report_lines(r: &ShadowReport) -> Vec<String> {
    let mut out = vec![format!(
        "shadow of proposal #{} on {}; candidate manifest {}",
        r.proposal, r.workload, r.manifest_hash
    )];
    let new = r.effects.iter().filter(|e| e.new).count();
    out.push(format!(
        "predicted effects ({}, {new} new):",
        r.effects.len()
    ));
    if r.effects.is_empty() {
        out.push("  (none)".into());
    }
    for e in &r.effects {
        let mark = if e.new { '+' } else { ' ' };
        let word = if e.allowed {
            "✓ allowed"
        } else {
            "✗ denied "
        };
        let grant = if e.grant.is_empty() {
            "(no grant)"
        } else {
            &e.grant
        };
        out.push(format!(
            "  {mark} {word} {} via {grant} · {}",
            e.kind, e.origin
        ));
        out.push(format!("      params {}", e.params));
        out.push(format!("      {}: {}", e.stage, e.reason));
    }
    out.push("state diffs:".into());
    if r.state_diffs.is_empty() {
        out.push("  (no reducer state differs)".into());
    }
    for d in &r.state_diffs {
        out.push(format!("  {}", d.reducer));
        out.extend(d.changes.iter().map(|c| format!("    {c}")));
    }
    out.push("plan results:".into());
    if r.plan_results.is_empty() {
        out.push("  (no plan ended)".into());
    }
    out.extend(
        r.plan_results
            .iter()
            .map(|p| format!("  {}: {}", p.plan, p.outcome)),
    );
    out.push("capabilities needed:".into());
    if r.caps.is_empty() {
        out.push("  (none)".into());
    }
    for c in &r.caps {
        let mark = if c.new { '+' } else { ' ' };
        out.push(format!(
            "  {mark} {} = {} ({}) {} · budget {}",
            c.grant, c.cap, c.cap_type, c.params, c.budget
        ));
    }
    for n in &r.notes {
        out.push(format!("note: {n}"));
    }
    out
}

fn diff_json(diff: &AirDiff) -> Json {
    Json::Array(
        diff.defs
            .iter()
            .map(|d| {
                json!({
                    "kind": d.kind.as_str(),
                    "name": d.name,
                    "change": change_word(d.change),
                    "old_hash": d.old_hash.map(|h| h.to_string()),
                    "new_hash": d.new_hash.map(|h| h.to_string()),
                    "paths": d.paths.iter().map(|p| json!({
                        "path": p.path, "old": p.old, "new": p.new,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

pub fn report_json(r: &ShadowReport) -> Json {
    json!({
        "proposal": r.proposal,
        "manifest_hash": r.manifest_hash.to_string(),
        "workload": r.workload,
        "effects": r.effects.iter().map(|e| json!({
            "kind": e.kind, "params": e.params, "grant": e.grant, "origin": e.origin,
            "allowed": e.allowed, "stage": e.stage, "reason": e.reason, "new": e.new,
        })).collect::<Vec<_>>(),
        "state_diffs": r.state_diffs.iter().map(|d| json!({
            "reducer": d.reducer, "changes": d.changes,
        })).collect::<Vec<_>>(),
        "plan_results": r.plan_results.iter().map(|p| json!({
            "plan": p.plan, "outcome": p.outcome,
        })).collect::<Vec<_>>(),
        "caps": r.caps.iter().map(|c| json!({
            "grant": c.grant, "cap": c.cap, "cap_type": c.cap_type, "params": c.params,
            "budget": c.budget, "new": c.new,
        })).collect::<Vec<_>>(),
        "notes": r.notes,
    })
}

pub fn proposal_json(p: &ProposalView) -> Json {
    let mut out = json!({
        "id": p.id,
        "description": p.description,
        "status": p.status.label(),
        "base": p.base.to_string(),
        "patch_hash": p.patch_hash.to_string(),
        "diff": p.diff.as_ref().map(diff_json),
        "summary": p.diff.as_ref().map(|d| {
            review(d).summary().into_iter().map(|l| l.text).collect::<Vec<_>>()
        }),
        "problems": p.problems,
        "report": p.report.as_ref().map(report_json),
    });
    match &p.status {
        ProposalStatus::Approved { approver } => out["approver"] = json!(approver),
        ProposalStatus::Rejected { approver, reasons } => {
            out["approver"] = json!(approver);
            out["reasons"] = json!(reasons);
        }
        ProposalStatus::Applied { manifest_hash } => {
            out["manifest_hash"] = json!(manifest_hash.to_string())
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aos_engine::hash::Hash;
    use aos_engine::world::{CapNeed, PredictedEffect};

    #[test]
    fn an_unreadable_patch_is_a_usage_error_and_a_malformed_one_is_refused() {
        let missing = read_patch(Path::new("/nonexistent/patch.json")).unwrap_err();
        assert_eq!(missing.code, 2, "{missing}");
        let dir = tempfile::tempdir().expect("tempdir");
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{not json").expect("write");
        let e = read_patch(&bad).unwrap_err();
        assert_eq!(e.code, 1);
        assert!(e.message.contains("not JSON"), "{e}");
        std::fs::write(&bad, r#"{"patches": 3}"#).expect("write");
        let e = read_patch(&bad).unwrap_err();
        assert_eq!(e.code, 1);
        assert!(e.message.contains("not a patch document"), "{e}");
    }

    #[test]
    fn the_approver_defaults_to_the_user_and_never_is_blank() {
        assert_eq!(approver(Some("ana")), "ana");
        assert_eq!(approver(Some("  ")), "cli");
        assert!(!approver(None).trim().is_empty());
    }

    #[test]
    fn the_report_text_marks_new_effects_and_grants() {
        let r = ShadowReport {
            proposal: 7,
            manifest_hash: Hash([1; 32]),
            workload: "scripted events (1)".into(),
            effects: vec![PredictedEffect {
                kind: "http.request".into(),
                params: "{url: \"https://example.com/follow.json\"}".into(),
                grant: "cap_http_followup".into(),
                origin: "plan demo/fetch_plan@2".into(),
                allowed: false,
                stage: "policy".into(),
                reason: "denied by rule #2".into(),
                new: true,
            }],
            state_diffs: vec![],
            plan_results: vec![],
            caps: vec![CapNeed {
                grant: "cap_http_followup".into(),
                cap: "demo/http_followup_cap@1".into(),
                cap_type: "http.out".into(),
                params: "{}".into(),
                budget: "unlimited".into(),
                new: true,
            }],
            notes: vec!["stopped after 100000 steps without settling".into()],
        };
        let text = report_lines(&r).join("\n");
        assert!(
            text.contains("+ ✗ denied  http.request via cap_http_followup"),
            "{text}"
        );
        assert!(text.contains("follow.json"), "{text}");
        assert!(text.contains("policy: denied by rule #2"), "{text}");
        assert!(
            text.contains("+ cap_http_followup = demo/http_followup_cap@1"),
            "{text}"
        );
        assert!(text.contains("(no reducer state differs)"), "{text}");
        assert!(text.contains("note: stopped after"), "{text}");
        let j = report_json(&r);
        assert_eq!(j["effects"][0]["new"], true);
        assert_eq!(j["caps"][0]["new"], true);
    }
}
