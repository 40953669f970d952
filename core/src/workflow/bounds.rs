//! Bounds on every field a technician's command carries: durations, counts,
//! amounts, text lengths and list lengths, one table for the whole core.
//! `decide` refuses a command with a field out of bounds before any rule
//! looks at it, and the forms take their `min`/`max` from the same table, so
//! what a screen lets through and what the rules accept cannot drift. A
//! refusal names the field (by its dotted path, `quote.lines[2].qty`, and by
//! its label in zh-CN and en) and the accepted range.
//!
//! The walk is over the command's fields as serde writes them to JSON
//! (`field_walk`, in place, no tree built), so a field added to a command later
//! is bounded too: its text by the one-line limit, its lists by the list
//! limit. A signature's strokes are the one exception: bounded by their
//! counts (strokes, points per stroke), checked as typed. Center facts (the
//! assignment, cancellation, reassignment) arrive through sync and are
//! checked by the server, not here.

use super::command::VisitCommand;
use super::field_walk::{walk, At, Leaf};
use super::signature::Stroke;
use crate::messages::Text;

/// Longest one-line text (names, codes, serial numbers), in characters.
pub const TEXT_MAX: i64 = 200;
/// Longest long text (reasons, notes, descriptions), in characters.
pub const LONG_TEXT_MAX: i64 = 2000;
/// Most rows in a list (kit items, parts, quote lines).
pub const LIST_MAX: usize = 100;
/// Most strokes in one signature.
pub const STROKES_MAX: usize = 500;
/// Most points in one stroke.
pub const STROKE_POINTS_MAX: usize = 5000;
/// Largest amount of money in a command, in fen (¥1 000 000).
pub const AMOUNT_MAX: i64 = 100_000_000;
/// Longest travel time a technician may declare, in minutes (12 hours).
pub const TRAVEL_MINUTES_MAX: i64 = 12 * 60;

/// The fields whose text may be long (several lines).
const LONG_TEXT_FIELDS: &[&str] = &[
    "comment",
    "consent_text",
    "description",
    "guidance",
    "note",
    "notes",
    "reason",
];

/// A numeric field's accepted range and unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberBound {
    /// The field's name (the last segment of its dotted path).
    pub field: &'static str,
    pub min: i64,
    pub max: i64,
    /// The value is money in fen, shown as yuan.
    pub money: bool,
}

const fn count(field: &'static str, min: i64, max: i64) -> NumberBound {
    NumberBound {
        field,
        min,
        max,
        money: false,
    }
}

const fn money(field: &'static str) -> NumberBound {
    NumberBound {
        field,
        min: 0,
        max: AMOUNT_MAX,
        money: true,
    }
}

/// Every numeric field of a technician's command and its range.
pub const NUMBERS: &[NumberBound] = &[
    count("travel_minutes", 0, TRAVEL_MINUTES_MAX),
    count("estimated_travel_minutes", 0, TRAVEL_MINUTES_MAX),
    count("qty", 1, 999),
    count("revision", 1, 999),
    money("amount"),
    money("compensation"),
    money("warranty_card_price"),
    // A photo as the shell stored it (photos as evidence).
    count("size_bytes", 1, PHOTO_BYTES_MAX),
    count("width", 1, PHOTO_PIXELS_MAX),
    count("height", 1, PHOTO_PIXELS_MAX),
];

/// The largest photo a phone records, in bytes (50 MiB).
pub const PHOTO_BYTES_MAX: i64 = 50 * 1024 * 1024;
/// The widest or tallest photo, in pixels.
pub const PHOTO_PIXELS_MAX: i64 = 100_000;

/// The bound of a numeric field, by name.
pub fn number(field: &str) -> Option<&'static NumberBound> {
    NUMBERS.iter().find(|b| b.field == field)
}

/// The longest text a field takes, in characters.
pub fn text_max(field: &str) -> i64 {
    if LONG_TEXT_FIELDS.contains(&field) {
        LONG_TEXT_MAX
    } else {
        TEXT_MAX
    }
}

/// The words for a field in refusals, by the last segment of its path.
pub fn field_label(path: &str) -> Text {
    let name = last_segment(path);
    let (en, zh) = match name {
        "travel_minutes" => ("Travel time", "路程时间"),
        "estimated_travel_minutes" => ("Estimated travel time", "预计路程时间"),
        "qty" => ("Quantity", "数量"),
        "size_bytes" => ("Photo size", "照片大小"),
        "width" => ("Photo width", "照片宽度"),
        "height" => ("Photo height", "照片高度"),
        "digest" => ("Photo", "照片"),
        "moment" => ("Photo moment", "拍照环节"),
        "revision" => ("Quote revision", "报价版本"),
        "quality" => ("Quality rating", "维修质量评分"),
        "attitude" => ("Attitude rating", "服务态度评分"),
        "amount" => ("Amount", "金额"),
        "compensation" => ("Compensation", "赔偿金额"),
        "warranty_card_price" => ("Warranty card price", "保修卡价格"),
        "reason" => ("Reason", "原因"),
        "note" | "notes" => ("Note", "备注"),
        "comment" => ("Comment", "评价意见"),
        "description" => ("Description", "描述"),
        "guidance" => ("Guidance given", "电话指导内容"),
        "consent_text" => ("Consent text", "确认文字"),
        "cause" => ("Cause", "故障原因"),
        "fault_code" => ("Fault", "故障类型"),
        "item" => ("Item", "物品"),
        "items" => ("Items", "物品"),
        "part" => ("Part", "备件"),
        "parts" => ("Parts", "备件"),
        "parts_used" => ("Parts fitted", "更换的备件"),
        "old_serial" => ("Old serial number", "旧件序列号"),
        "new_serial" => ("New serial number", "新件序列号"),
        "likely_causes" => ("Likely causes", "可能原因"),
        "parts_to_bring" => ("Parts to bring", "需携带备件"),
        "lines" => ("Quote lines", "报价项目"),
        "fields" => ("Fields", "工单信息项"),
        "approved_by" => ("Approved by", "批准人"),
        "approval_code" => ("Approval code", "批准码"),
        "code" => ("Acceptance code", "验收码"),
        "name" => ("Name", "姓名"),
        "relation" => ("Relation", "关系"),
        "number" => ("Number", "票据号码"),
        "strokes" => ("Signature", "签字"),
        "points" => ("Signature stroke", "签字笔画"),
        "location" => ("Location", "位置"),
        "outside_geofence_reason" => (
            "Reason for arriving outside the area",
            "不在范围内到达的原因",
        ),
        "return_by" => ("Return date", "归还日期"),
        "by" => ("Delivery date", "送达日期"),
        "window" | "new_window" => ("Time window", "时间段"),
        "start" => ("Window start", "开始时间"),
        "end" => ("Window end", "结束时间"),
        "decision" => ("Decision", "处理方式"),
        "kind" => ("Kind", "类型"),
        "method" => ("Payment method", "付款方式"),
        _ => ("This field", "该项"),
    };
    Text::new(en, zh)
}

/// The name a path ends in: `quote.lines[2].qty` → `qty`, `strokes[0]` → `strokes`.
fn last_segment(path: &str) -> &str {
    let tail = path.rsplit('.').next().unwrap_or(path);
    tail.split('[').next().unwrap_or(tail)
}

/// A field out of its bounds: its dotted path and what would be accepted
/// (`decide` refuses it as `invalid_input`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfBounds {
    pub field: String,
    pub problem: Text,
}

/// Checks every field of a technician's command against its bound. Center
/// facts pass (the server checks them).
pub fn check(cmd: &VisitCommand) -> Result<(), OutOfBounds> {
    if matches!(
        cmd,
        VisitCommand::ReceiveAssignment { .. }
            | VisitCommand::CancelAssignment { .. }
            | VisitCommand::ReassignAssignment { .. }
    ) {
        return Ok(());
    }
    // A signature is bounded by its counts alone (its points are numbers on
    // the drawing surface): checked as typed, then left out of the walk,
    // so its thousands of points are not walked one by one.
    let without_strokes = match split_signature(cmd) {
        Some((strokes, rest)) => {
            check_strokes(strokes)?;
            Some(rest)
        }
        None => None,
    };
    let cmd = without_strokes.as_ref().unwrap_or(cmd);
    // Every field but the command's tag.
    walk(cmd, "type", &mut check_field)
}

/// The strokes of a signature, and the points of each, within their counts.
fn check_strokes(strokes: &[Stroke]) -> Result<(), OutOfBounds> {
    let field = At::Field("strokes");
    check_count(&field, STROKES_MAX, strokes.len())?;
    strokes.iter().enumerate().try_for_each(|(i, stroke)| {
        let stroke_at = At::Index(&field, i);
        let points = At::Key(&stroke_at, "points");
        check_count(&points, STROKE_POINTS_MAX, stroke.points.len())
    })
}

/// A command that carries a signature: its strokes, and the command with
/// them emptied (built without copying them).
fn split_signature(cmd: &VisitCommand) -> Option<(&[Stroke], VisitCommand)> {
    match cmd {
        VisitCommand::SignOff {
            ratings,
            comment,
            strokes,
            consent_text,
            shown_digest,
        } => Some((
            strokes,
            VisitCommand::SignOff {
                ratings: *ratings,
                comment: comment.clone(),
                strokes: Vec::new(),
                consent_text: consent_text.clone(),
                shown_digest: shown_digest.clone(),
            },
        )),
        VisitCommand::SignBackupConsent { strokes } => Some((
            strokes,
            VisitCommand::SignBackupConsent {
                strokes: Vec::new(),
            },
        )),
        VisitCommand::SignCustodyReceipt { strokes } => Some((
            strokes,
            VisitCommand::SignCustodyReceipt {
                strokes: Vec::new(),
            },
        )),
        _ => None,
    }
}

/// A list of `given` entries where at most `max` are accepted.
fn check_count(path: &At, max: usize, given: usize) -> Result<(), OutOfBounds> {
    if given > max {
        return Err(refusal(
            path,
            Text::new(
                format!("at most {max} entries ({given} given)"),
                format!("最多{max}项（实际{given}项）"),
            ),
        ));
    }
    Ok(())
}

/// The check on each field the walk meets: a text by its field's length,
/// a number by its field's range, a list by the list limit.
fn check_field(path: &At, name: &str, leaf: Leaf) -> Result<(), OutOfBounds> {
    match leaf {
        Leaf::Text(s) => check_text(path, name, s),
        Leaf::Number(n) => match number(name) {
            Some(b) => check_number(path, b, n),
            None => Ok(()),
        },
        Leaf::List(items) => check_count(path, LIST_MAX, items),
    }
}

fn check_text(path: &At, name: &str, s: &str) -> Result<(), OutOfBounds> {
    let max = text_max(name);
    let chars = s.chars().count() as i64;
    if chars > max {
        Err(refusal(
            path,
            Text::new(
                format!("at most {max} characters ({chars} given)"),
                format!("最多{max}个字（实际{chars}个字）"),
            ),
        ))
    } else {
        Ok(())
    }
}

fn check_number(path: &At, b: &NumberBound, n: &serde_json::Number) -> Result<(), OutOfBounds> {
    let inside = n.as_i64().is_some_and(|x| (b.min..=b.max).contains(&x));
    if inside {
        return Ok(());
    }
    Err(refusal(path, range_text(b, &n.to_string())))
}

/// "between min and max (given …)", in both languages, money in yuan.
pub fn range_text(b: &NumberBound, given: &str) -> Text {
    let show = |x: i64| {
        if b.money {
            format!("¥{}", crate::money::yuan_digits(x))
        } else {
            x.to_string()
        }
    };
    let (min, max) = (show(b.min), show(b.max));
    let unit_en = if b.field.ends_with("minutes") {
        " minutes"
    } else {
        ""
    };
    let unit_zh = if b.field.ends_with("minutes") {
        "分钟"
    } else {
        ""
    };
    Text::new(
        format!("must be from {min} to {max}{unit_en} ({given} given)"),
        format!("应在{min}至{max}{unit_zh}之间（输入的是{given}）"),
    )
}

fn refusal(path: &At, problem: Text) -> OutOfBounds {
    OutOfBounds {
        field: path.to_string(),
        problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_segment_names_the_field() {
        assert_eq!(last_segment("quote.lines[2].qty"), "qty");
        assert_eq!(last_segment("strokes[0]"), "strokes");
        assert_eq!(last_segment("travel_minutes"), "travel_minutes");
    }

    #[test]
    fn a_refused_field_is_named_by_its_dotted_path() {
        let lines = At::Field("lines");
        let line = At::Index(&lines, 2);
        assert_eq!(At::Key(&line, "qty").to_string(), "lines[2].qty");
    }
}
