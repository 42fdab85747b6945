//! Plan instances as the inspector shows them: plain data, so test fakes
//! build them directly.

/// One plan instance as of the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanView {
    /// Instance id: the height of its `PlanStarted` entry.
    pub id: u64,
    pub plan: String,
    pub status: PlanStatus,
    /// How it started, e.g. "trigger on demo/FetchRequest@1 (#12)" or "manual".
    pub started_by: String,
    /// The `correlate_by` field and its value in the sugar lens, e.g. "request_id = 1".
    pub correlation: Option<String>,
    /// The input in the sugar lens (one line).
    pub input: String,
    pub steps: Vec<PlanStepView>,
    pub edges: Vec<PlanEdgeView>,
    /// The step that ran last (highlighted), if any.
    pub current: Option<String>,
    /// The `end` result in the sugar lens, when there is one.
    pub result: Option<String>,
    /// Height of its `PlanEnded` entry.
    pub ended_at: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanStatus {
    /// Has ready steps.
    Running,
    /// Waiting on a receipt or an event.
    Waiting,
    Completed,
    Failed {
        step: Option<String>,
        message: String,
    },
}

impl PlanStatus {
    pub fn label(&self) -> &'static str {
        match self {
            PlanStatus::Running => "running",
            PlanStatus::Waiting => "waiting",
            PlanStatus::Completed => "completed",
            PlanStatus::Failed { .. } => "failed",
        }
    }
}

/// Where one step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepMark {
    /// Predecessors not done yet.
    Pending,
    /// Will run at the next plan step.
    Ready,
    WaitingReceipt,
    WaitingEvent,
    Done,
    Failed,
    /// On a path not taken (a false guard or a skipped predecessor).
    Skipped,
}

impl StepMark {
    pub fn label(self) -> &'static str {
        match self {
            StepMark::Pending => "pending",
            StepMark::Ready => "ready",
            StepMark::WaitingReceipt => "waiting on receipt",
            StepMark::WaitingEvent => "waiting on event",
            StepMark::Done => "done",
            StepMark::Failed => "failed",
            StepMark::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanStepView {
    pub id: String,
    /// `emit_effect`, `await_receipt`, `raise_event`, `await_event`, `assign`, `end`.
    pub op: String,
    /// One line, e.g. "http.request via cap_http_fetch → @var:http_req".
    pub summary: String,
    pub mark: StepMark,
    /// Variables this step bound: (name, value in the sugar lens).
    pub bound: Vec<(String, String)>,
    /// What it consumed, e.g. "receipt 3f2a… (ok, #17)" or "event demo/X@1 (#20)".
    pub consumed: Option<String>,
    /// Height of the `PlanStep` entry where it ran.
    pub seq: Option<u64>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanEdgeView {
    pub from: String,
    pub to: String,
    /// The guard, rendered (e.g. "@var:reserve_status < 400").
    pub guard: Option<String>,
    /// Whether the guard held, once evaluated.
    pub taken: Option<bool>,
}
