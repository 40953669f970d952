//! The server's records and typed states, shared by the store (which reads
//! and writes them), the domain rules and the HTTP layer (which sends them as
//! JSON). Each state is an enum stored as the same text it has always had
//! (`as_str` to write, `FromStr` to read) and sent as that text in JSON.

use chrono::{DateTime, Utc};
use doorstep_core::protocol::ChangeKind;
use doorstep_core::Assignment;
use serde::{Deserialize, Serialize};

/// A stored or sent text that is none of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {found:?}; expected one of: {accepted} / 未知的{what_zh} {found:?}，可接受：{accepted}")]
pub struct UnknownText {
    pub what: &'static str,
    pub what_zh: &'static str,
    pub found: String,
    pub accepted: String,
}

/// Declares a unit enum stored and sent as text: serde names, `as_str`,
/// `FromStr` (refusing unknown text with the accepted values) and `Display`.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $name:ident ($what:literal, $what_zh:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored (and JSON) text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownText;

            fn from_str(s: &str) -> Result<Self, UnknownText> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownText {
                        what: $what,
                        what_zh: $what_zh,
                        found: s.to_string(),
                        accepted: [$($text),+].join(", "),
                    }),
                }
            }
        }

        /// In the API description: a string, one of the values.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum! {
    /// Where an assignment stands at the center.
    AssignmentStatus ("assignment status", "工单状态") {
        /// No technician yet.
        Open = "open",
        Assigned = "assigned",
        Done = "done",
        /// The technician handed it back (e.g. needs another trade).
        HandedBack = "handed_back",
        Cancelled = "cancelled",
    }
}

impl AssignmentStatus {
    /// Still waiting for the center to act (the 1-hour rule applies).
    pub const WAITING: [AssignmentStatus; 3] = [
        AssignmentStatus::Open,
        AssignmentStatus::Assigned,
        AssignmentStatus::HandedBack,
    ];
}

text_enum! {
    /// The dispatch priority an intake class gives.
    Priority ("priority", "优先级") {
        Urgent = "urgent",
        Escalated = "escalated",
        SameDay = "same_day",
        Normal = "normal",
    }
}

text_enum! {
    /// Intake classes (受理分类, seed 002).
    Classification ("classification", "受理分类") {
        /// Answered directly; no visit.
        Consultation = "consultation",
        /// Dispatch now.
        Urgent = "urgent",
        General = "general",
        /// Dispatch order the same day.
        Complex = "complex",
        /// Repeat request or complaint: escalate.
        #[serde(alias = "repeat")]
        Complaint = "complaint",
    }
}

impl Classification {
    /// The dispatch priority this class gives.
    pub fn priority(self) -> Priority {
        match self {
            Self::Urgent => Priority::Urgent,
            Self::Complaint => Priority::Escalated,
            Self::Complex => Priority::SameDay,
            Self::General | Self::Consultation => Priority::Normal,
        }
    }
}

text_enum! {
    /// The kind column of the assignment change log.
    ChangeLogKind ("change kind", "变更类型") {
        Assignment = "assignment",
        Cancelled = "cancelled",
        Reassigned = "reassigned",
        /// The customer's personal data was erased on request (PIPL).
        Erased = "erased",
    }
}

impl ChangeLogKind {
    pub fn of(change: &ChangeKind) -> ChangeLogKind {
        match change {
            ChangeKind::Assignment { .. } => ChangeLogKind::Assignment,
            ChangeKind::Cancelled { .. } => ChangeLogKind::Cancelled,
            ChangeKind::Reassigned { .. } => ChangeLogKind::Reassigned,
            ChangeKind::Erased { .. } => ChangeLogKind::Erased,
        }
    }
}

text_enum! {
    /// Sign-off status of a visit, as the server verified it.
    SignOffStatus ("sign-off status", "签字状态") {
        /// The report digest recomputed from the events matches the signed one.
        Verified = "verified",
        /// Signed, but the binding does not verify (see `signoff_problem`).
        Broken = "broken",
        /// The customer declined to sign (a valid outcome, followed up).
        Declined = "declined",
        None = "none",
    }
}

text_enum! {
    /// Which direction a device sync went.
    SyncKind ("sync kind", "同步类型") {
        Push = "push",
        Pull = "pull",
    }
}

text_enum! {
    /// How overdue a reminder is (1-hour rule).
    ReminderLevel ("reminder level", "催办级别") {
        /// Over the hour.
        Reminder = "reminder",
        /// Over two hours.
        Escalate = "escalate",
    }
}

text_enum! {
    /// What an overdue assignment still lacks.
    Missing ("missing item", "缺少项") {
        Technician = "technician",
        ConfirmedWindow = "confirmed_window",
        /// The technician has no work phone on record.
        TechnicianPhone = "technician_phone",
    }
}

text_enum! {
    /// How KPIs are grouped.
    KpiGrouping ("KPI grouping", "指标分组") {
        Day = "day",
        Technician = "technician",
        Trade = "trade",
    }
}

/// An assignment with the center's bookkeeping.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AssignmentView {
    #[serde(flatten)]
    pub assignment: Assignment,
    pub status: AssignmentStatus,
    pub priority: Priority,
    pub classification: Classification,
    /// A visit time is confirmed (by the center, or by the technician's call).
    pub window_confirmed: bool,
    pub cancel_reason: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// A visit as the center sees it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VisitRow {
    pub visit_id: String,
    pub assignment_id: String,
    pub technician_id: String,
    pub device_id: String,
    pub trade: String,
    pub stage: String,
    pub outcome: Option<String>,
    pub trip: i64,
    pub started_at: Option<DateTime<Utc>>,
    pub arrived_at: Option<DateTime<Utc>>,
    pub late: Option<bool>,
    pub closed_at: Option<DateTime<Utc>>,
    pub signoff: SignOffStatus,
    /// Why a broken sign-off does not verify, in English.
    pub signoff_problem: Option<String>,
    /// The same, in both languages (the console shows it).
    pub signoff_problem_text: Option<doorstep_core::messages::Text>,
    /// The sign-off evidence links to the device's previous record.
    pub chain_ok: bool,
    pub satisfied: Option<bool>,
    /// `cancelled_after_start` or `reassigned_after_start`.
    pub conflict: Option<String>,
    pub conflict_version: Option<i64>,
    /// The conflict waits for a dispatcher's decision.
    pub conflict_open: bool,
    pub resolution: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub event_count: i64,
}

/// A technician on the roster, with today's load.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct TechnicianView {
    pub id: String,
    pub name: String,
    pub phone: Option<String>,
    pub trades: Vec<String>,
    pub active: bool,
    pub devices: i64,
    /// Assignments given to the technician and not yet finished.
    pub open_assignments: i64,
    /// Visits the technician closed today (the business day).
    pub closed_today: i64,
}

/// A callback due.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CallbackView {
    pub visit_id: String,
    pub reason: String,
    pub due_at: DateTime<Utc>,
    pub assignment_id: String,
    pub technician_id: String,
    pub trade: String,
    /// Who to call (the dispatcher needs it; never logged).
    pub customer_name: Option<String>,
    pub customer_phone: Option<String>,
}

/// A recorded intake, as listed.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IntakeRecord {
    pub id: String,
    pub classification: Classification,
    pub received_at: DateTime<Utc>,
    pub content: String,
    pub answer: Option<String>,
    pub assignment_id: Option<String>,
    pub escalated: bool,
}

text_enum! {
    /// A staff member's role.
    Role ("role", "角色") {
        Admin = "admin",
        Dispatcher = "dispatcher",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every typed state reads back from the text it stores, and its JSON
    /// is that same text (what the API sent before the states were typed).
    fn round_trips<T>(all: &[T])
    where
        T: Copy + PartialEq + std::fmt::Debug + std::fmt::Display + std::str::FromStr + Serialize,
        T::Err: std::fmt::Debug,
    {
        for v in all {
            let text = v.to_string();
            assert_eq!(text.parse::<T>().unwrap(), *v);
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(text));
        }
    }

    #[test]
    fn typed_states_are_stored_and_sent_as_their_text() {
        round_trips(AssignmentStatus::ALL);
        round_trips(Priority::ALL);
        round_trips(Classification::ALL);
        round_trips(ChangeLogKind::ALL);
        round_trips(SignOffStatus::ALL);
        round_trips(SyncKind::ALL);
        round_trips(ReminderLevel::ALL);
        round_trips(Missing::ALL);
        round_trips(KpiGrouping::ALL);
        round_trips(Role::ALL);
        assert_eq!(AssignmentStatus::HandedBack.as_str(), "handed_back");
        assert_eq!(Priority::SameDay.as_str(), "same_day");
    }

    #[test]
    fn unknown_text_is_refused_with_what_is_accepted_in_both_languages() {
        let err = "finished"
            .parse::<AssignmentStatus>()
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"finished\""), "{err}");
        assert!(
            err.contains("open, assigned, done, handed_back, cancelled"),
            "{err}"
        );
        assert!(err.contains("工单状态"), "{err}");
    }

    #[test]
    fn a_repeat_request_is_read_as_a_complaint() {
        let c: Classification = serde_json::from_str("\"repeat\"").unwrap();
        assert_eq!(c, Classification::Complaint);
        assert_eq!(c.priority(), Priority::Escalated);
    }
}

/// Who buys: a person (个人) or a company or other organisation (单位) —
/// the core's, which checks the buyer on the phone and here.
pub use doorstep_core::invoice_request::BuyerType;

/// Where a request was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceSource {
    /// At the door, on the technician's phone.
    Door,
    /// Later, at the desk.
    Desk,
}

impl InvoiceSource {
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceSource::Door => "door",
            InvoiceSource::Desk => "desk",
        }
    }
}
