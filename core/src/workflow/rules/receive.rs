//! Step 1, Receive (接活), STANDARDS §2.1: the required fields of the
//! assignment; missing or inconsistent ones are verified with the center or
//! waived by it before the appointment can be confirmed.

use super::shared::non_empty;
use super::Result;
use crate::assignment::AssignmentField;
use crate::messages::Text;
use crate::workflow::error::WorkflowError;
use crate::workflow::event::EventKind;
use crate::workflow::state::VisitState;

pub(super) fn verify_with_center(
    fields: &[AssignmentField],
    note: &Option<String>,
) -> Result<Vec<EventKind>> {
    require_fields_named(fields, "verify")?;
    Ok(vec![EventKind::CenterVerificationRequested {
        fields: fields.to_vec(),
        note: note.clone(),
    }])
}

pub(super) fn waive_fields(
    fields: &[AssignmentField],
    approved_by: &str,
    approval_code: &str,
) -> Result<Vec<EventKind>> {
    require_fields_named(fields, "waive")?;
    non_empty("approved_by", approved_by)?;
    non_empty("approval_code", approval_code)?;
    Ok(vec![EventKind::FieldsWaived {
        fields: fields.to_vec(),
        approved_by: approved_by.to_string(),
        approval_code: approval_code.to_string(),
    }])
}

/// STANDARDS §2.1: a verification or waiver names the fields it is about.
fn require_fields_named(fields: &[AssignmentField], action: &str) -> Result<()> {
    if fields.is_empty() {
        Err(WorkflowError::InvalidInput {
            field: "fields".into(),
            problem: Text::new(
                format!("name at least one field to {action}"),
                "请至少选择一项",
            ),
        })
    } else {
        Ok(())
    }
}

/// STANDARDS §2.1 (接活): "the appointment may not be confirmed until the
/// missing fields are resolved or explicitly waived by the center" — an
/// updated assignment resolves them, a center waiver waives them.
pub(super) fn require_information_complete(s: &VisitState) -> Result<()> {
    let open = s.open_field_issues();
    if open.is_empty() {
        Ok(())
    } else {
        Err(WorkflowError::MissingAssignmentInfo {
            fields: open.iter().map(|i| i.field).collect(),
        })
    }
}
