//! The one public error of the FFI surface, and the deliberate mapping to it
//! from the core's errors (the two-layer pattern of mozilla's
//! application-services: internal errors stay rich, the foreign side sees a
//! small stable shape).
//!
//! Every variant carries a stable machine-readable `code` plus the text in
//! English (`en`) and Simplified Chinese (`zh`); shells show the one matching
//! the phone's language. There is deliberately no field called `message`: in
//! Kotlin it would collide with `Throwable.message`. No customer data is put
//! into these strings by this crate.
//!
//! [`guard`] runs a closure with panics caught, so nothing unwinds across the
//! FFI: a panic inside the core becomes `DoorstepError::Internal`.

use doorstep_core::ids::InvalidId;
use doorstep_core::playbook::PlaybookError;
use doorstep_core::script_runner::ScriptError;
use doorstep_core::store::StoreError;
use doorstep_core::sync::SyncError;
use doorstep_core::{Lang, WorkflowError};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What went wrong, for the technician's screen and for code that branches on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum DoorstepError {
    /// A rule of the service standard refused the command. `code` is the
    /// workflow's stable code (`kit_incomplete`, `quote_not_accepted`, ...);
    /// the texts say which rule refused and what would satisfy it.
    /// `field` names the form field the refusal concerns (`amount` for
    /// `payment_mismatch`), when it concerns one: show the texts under it.
    #[error("[{code}] {en}")]
    Refused {
        code: String,
        field: Option<String>,
        en: String,
        zh: String,
    },
    /// The request itself could not be understood: malformed command JSON, an
    /// invalid id, an unknown trade. Codes: `invalid_command`, `invalid_id`,
    /// `unknown_trade`, `invalid_input`.
    #[error("[{code}] {en}")]
    InvalidInput {
        code: String,
        en: String,
        zh: String,
    },
    /// A submitted form was refused before it became a command: `problems`
    /// names every bad field (its dotted name as in the form) with what
    /// would be accepted; show each next to its field. Code: `invalid_form`.
    #[error("[{code}] {en}")]
    InvalidForm {
        code: String,
        action: String,
        problems: Vec<crate::forms::FormProblem>,
        en: String,
        zh: String,
    },
    /// A custom playbook was refused; `field` is the dotted path of the
    /// offending field (empty when the problem concerns the whole file).
    #[error("[{code}] {en}")]
    InvalidPlaybook {
        code: String,
        field: String,
        en: String,
        zh: String,
    },
    /// A visit script stopped at `line` (1-based).
    #[error("[{code}] {en}")]
    Script {
        code: String,
        line: u32,
        en: String,
        zh: String,
    },
    /// The local store could not do what was asked: a damaged or foreign
    /// file, a full disk, a closed store, an unknown visit... Codes are the
    /// store's (`store_disk_full`, `store_unknown_assignment`, ...) plus
    /// `store_closed`. The file is never repaired or deleted behind the
    /// technician's back: it may hold unsynced work.
    #[error("[{code}] {en}")]
    Store {
        code: String,
        en: String,
        zh: String,
    },
    /// Sync or enrolment did not finish. Nothing recorded on the phone is
    /// lost; `transient` says whether retrying later may cure it (network,
    /// server busy) or someone must act (token revoked: enrol again; app too
    /// old: update). Codes: `sync_network`, `sync_server_busy`,
    /// `sync_unauthorized`, `sync_protocol`, `sync_refused`,
    /// `sync_lost_events`, `sync_decode`, `sync_store`, `sync_cancelled`,
    /// `sync_in_progress`, `enrol_refused`. `detail` is the technical reason
    /// (for logs and support, not for the technician).
    #[error("[{code}] {en} ({detail})")]
    Sync {
        code: String,
        transient: bool,
        detail: String,
        en: String,
        zh: String,
    },
    /// A failure inside Doorstep (a bug, never the technician's fault). The
    /// operation was not applied. Codes: `internal`, `session_poisoned`.
    #[error("[{code}] {en}")]
    Internal {
        code: String,
        en: String,
        zh: String,
    },
}

impl DoorstepError {
    /// The stable code of any variant.
    pub fn code(&self) -> &str {
        match self {
            Self::Refused { code, .. }
            | Self::InvalidInput { code, .. }
            | Self::InvalidForm { code, .. }
            | Self::InvalidPlaybook { code, .. }
            | Self::Script { code, .. }
            | Self::Store { code, .. }
            | Self::Sync { code, .. }
            | Self::Internal { code, .. } => code,
        }
    }

    /// The text in one language.
    pub fn text(&self, lang: Lang) -> &str {
        let (en, zh) = match self {
            Self::Refused { en, zh, .. }
            | Self::InvalidInput { en, zh, .. }
            | Self::InvalidForm { en, zh, .. }
            | Self::InvalidPlaybook { en, zh, .. }
            | Self::Script { en, zh, .. }
            | Self::Store { en, zh, .. }
            | Self::Sync { en, zh, .. }
            | Self::Internal { en, zh, .. } => (en, zh),
        };
        match lang {
            Lang::En => en,
            Lang::ZhCn => zh,
        }
    }

    pub(crate) fn invalid_input(code: &str, en: String, zh: String) -> Self {
        Self::InvalidInput {
            code: code.to_string(),
            en,
            zh,
        }
    }

    /// A command that is not valid JSON for any command type. serde's detail
    /// names the field or type tag that failed.
    pub(crate) fn invalid_command(detail: &serde_json::Error) -> Self {
        Self::invalid_input(
            "invalid_command",
            format!("The command could not be read: {detail}."),
            format!("无法识别该操作指令：{detail}。"),
        )
    }

    pub(crate) fn unknown_trade(id: &str) -> Self {
        Self::invalid_input(
            "unknown_trade",
            format!("There is no shipped playbook for the trade {id:?}."),
            format!("没有行业“{id}”的内置服务规范。"),
        )
    }

    /// An internal failure with its technical reason appended to the text.
    pub(crate) fn internal_detail(code: &str, detail: &str) -> Self {
        Self::Internal {
            code: code.to_string(),
            en: format!(
                "Doorstep could not start sync ({detail}). Try again, and report it if it repeats."
            ),
            zh: format!("无法启动同步（{detail}）。请重试；如反复出现请上报。"),
        }
    }

    pub(crate) fn internal(code: &str, en: &str, zh: &str) -> Self {
        Self::Internal {
            code: code.to_string(),
            en: en.to_string(),
            zh: zh.to_string(),
        }
    }
}

impl From<WorkflowError> for DoorstepError {
    fn from(e: WorkflowError) -> Self {
        let text = e.text();
        Self::Refused {
            code: e.code().to_string(),
            field: e.field().map(str::to_string),
            en: text.en,
            zh: text.zh,
        }
    }
}

impl From<InvalidId> for DoorstepError {
    fn from(e: InvalidId) -> Self {
        Self::invalid_input(
            "invalid_id",
            e.to_string(),
            format!(
                "{}编号无效：应为1-64个字母、数字或 - _ . : 字符。",
                id_kind_zh(e.kind)
            ),
        )
    }
}

fn id_kind_zh(kind: &str) -> &'static str {
    match kind {
        "assignment" => "工单",
        "technician" => "技师",
        "device" => "设备",
        "trade" => "行业",
        _ => "",
    }
}

impl From<PlaybookError> for DoorstepError {
    fn from(e: PlaybookError) -> Self {
        let where_ = if e.field.is_empty() {
            String::new()
        } else {
            format!("字段 {} ", e.field)
        };
        Self::InvalidPlaybook {
            code: "invalid_playbook".to_string(),
            zh: format!("服务规范文件 {} {where_}有误：{}", e.source_name, e.problem),
            en: e.to_string(),
            field: e.field,
        }
    }
}

impl From<ScriptError> for DoorstepError {
    fn from(e: ScriptError) -> Self {
        let line = u32::try_from(e.line()).unwrap_or(u32::MAX);
        let en = e.to_string();
        let (code, zh) = match &e {
            ScriptError::Parse { message, .. } => (
                "script_parse".to_string(),
                format!("第{line}行格式有误：{message}"),
            ),
            ScriptError::UnknownVersion { found } => (
                "script_version".to_string(),
                format!("不支持脚本版本{found}。"),
            ),
            ScriptError::UnknownTrade(t) => (
                "unknown_trade".to_string(),
                format!("没有行业“{t}”的内置服务规范。"),
            ),
            ScriptError::Refused { command, error, .. } => (
                error.code().to_string(),
                format!(
                    "第{line}行：“{command}”被拒绝：{}",
                    error.message(Lang::ZhCn)
                ),
            ),
            ScriptError::UnexpectedSuccess {
                command, expected, ..
            } => (
                "script_unexpected_success".to_string(),
                format!("第{line}行：“{command}”应被拒绝（{expected}），但被接受了。"),
            ),
            ScriptError::WrongRefusal {
                command,
                expected,
                got,
                ..
            } => (
                "script_wrong_refusal".to_string(),
                format!("第{line}行：“{command}”应以{expected}被拒绝，实际为{got}。"),
            ),
            ScriptError::Empty => (
                "script_empty".to_string(),
                "脚本为空：第一行必须是脚本头。".to_string(),
            ),
        };
        Self::Script { code, line, en, zh }
    }
}

impl From<StoreError> for DoorstepError {
    fn from(e: StoreError) -> Self {
        match e {
            // A workflow refusal keeps its own code and texts.
            StoreError::Workflow(w) => w.into(),
            other => {
                let text = other.text();
                Self::Store {
                    code: other.code().to_string(),
                    en: text.en,
                    zh: text.zh,
                }
            }
        }
    }
}

impl From<SyncError> for DoorstepError {
    fn from(e: SyncError) -> Self {
        match e {
            // The store's own failure keeps the store's code and texts.
            SyncError::Store(s) => s.into(),
            other => {
                let text = other.text();
                Self::Sync {
                    code: other.code().to_string(),
                    transient: other.is_transient(),
                    detail: other.to_string(),
                    en: text.en,
                    zh: text.zh,
                }
            }
        }
    }
}

/// Runs `f` with panics caught: a panic becomes `DoorstepError::Internal`
/// (code `internal`) instead of unwinding into the foreign caller.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, DoorstepError>) -> Result<T, DoorstepError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(DoorstepError::internal(
            "internal",
            "Doorstep hit an internal error; nothing was recorded. Try again, and report it if it repeats.",
            "系统内部错误，本次操作未记录。请重试；如反复出现请上报。",
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_guard_becomes_an_internal_error() {
        let r: Result<(), _> = guard(|| panic!("boom"));
        let e = r.unwrap_err();
        assert_eq!(e.code(), "internal");
        assert!(matches!(e, DoorstepError::Internal { .. }));
        assert!(e.text(Lang::ZhCn).contains("内部错误"));
    }

    #[test]
    fn workflow_refusals_keep_their_code_and_both_texts() {
        let e: DoorstepError = WorkflowError::KitIncomplete {
            items: vec!["multimeter".into()],
            names: vec![],
        }
        .into();
        assert_eq!(e.code(), "kit_incomplete");
        assert!(e.text(Lang::En).contains("multimeter"));
        assert!(e.text(Lang::ZhCn).contains("还不能出发"));
    }

    #[test]
    fn a_payment_mismatch_names_the_amount_field() {
        let e: DoorstepError = WorkflowError::PaymentMismatch {
            expected: 16800,
            got: 100,
        }
        .into();
        assert!(
            matches!(e, DoorstepError::Refused { ref field, .. } if field.as_deref() == Some("amount")),
            "{e:?}"
        );
        let e: DoorstepError = WorkflowError::NoSignOff.into();
        assert!(matches!(e, DoorstepError::Refused { field: None, .. }));
    }

    #[test]
    fn store_errors_keep_the_store_code_and_workflow_refusals_stay_refusals() {
        let e: DoorstepError = StoreError::DiskFull.into();
        assert_eq!(e.code(), "store_disk_full");
        assert!(matches!(e, DoorstepError::Store { .. }));
        assert!(e.text(Lang::ZhCn).contains("存储空间已满"));
        let e: DoorstepError = StoreError::Workflow(WorkflowError::NoSignOff).into();
        assert_eq!(e.code(), "no_sign_off");
        assert!(matches!(e, DoorstepError::Refused { .. }));
    }

    #[test]
    fn invalid_ids_name_the_kind_in_chinese() {
        let e: DoorstepError = doorstep_core::DeviceId::new("a b").unwrap_err().into();
        assert_eq!(e.code(), "invalid_id");
        assert!(e.text(Lang::ZhCn).starts_with("设备编号无效"));
    }

    #[test]
    fn sync_failures_say_whether_a_retry_may_cure_them() {
        let e: DoorstepError = SyncError::Network("connection refused".into()).into();
        assert_eq!(e.code(), "sync_network");
        assert!(
            matches!(e, DoorstepError::Sync { transient: true, ref detail, .. } if detail.contains("refused"))
        );
        assert!(e.text(Lang::ZhCn).contains("无法连接服务器"));
        let e: DoorstepError = SyncError::Unauthorized {
            status: 401,
            message: "revoked".into(),
        }
        .into();
        assert!(matches!(
            e,
            DoorstepError::Sync {
                transient: false,
                ..
            }
        ));
        let e: DoorstepError = SyncError::Store(StoreError::DiskFull).into();
        assert_eq!(e.code(), "store_disk_full");
    }
}
