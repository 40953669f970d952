//! Filling a form into a command: the values a screen or the CLI collected
//! for an action's form become the `VisitCommand` the rules decide. Every
//! bad field is reported (not just the first), named by its dotted name,
//! with what would be accepted in zh-CN and en. Money is typed in yuan and
//! never rounded. Shells and the CLI never build command JSON: they call
//! [`fill`].

use super::command::VisitCommand;
use super::form::{fields_of, FieldKind, FieldValue, FormField, FormValue, OTHER};
use super::state::VisitState;
use crate::business_time::BusinessZone;
use crate::location::{GeoFix, GeoPoint, LocationUnavailable};
use crate::messages::Text;
use crate::money::{parse_yuan, yuan_digits, YuanError};
use crate::playbook::Playbook;
use crate::signoff::{strokes_are_signature, Stroke, StrokePoint};
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One refused field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldProblem {
    /// The field's dotted name (`amount`, `quote.lines[1].qty`); `action`
    /// when the action itself has no form.
    pub field: String,
    /// What is wrong and what would be accepted.
    pub text: Text,
    /// The field is required and was left empty (a terminal may ask for it).
    #[serde(default)]
    pub missing: bool,
}

/// A form that could not become a command: every bad field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}", self.problems.iter().map(|p| p.text.en.as_str()).collect::<Vec<_>>().join(" "))]
pub struct FormError {
    pub action: String,
    pub problems: Vec<FieldProblem>,
}

impl FormError {
    /// The problems' texts joined, in one language.
    pub fn text(&self) -> Text {
        Text::new(
            self.problems
                .iter()
                .map(|p| p.text.en.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            self.problems
                .iter()
                .map(|p| p.text.zh.as_str())
                .collect::<Vec<_>>()
                .join(""),
        )
    }
}

fn problem(f: &FormField, name: &str, en: impl AsRef<str>, zh: impl AsRef<str>) -> FieldProblem {
    FieldProblem {
        field: name.to_string(),
        text: Text::new(
            format!("“{}” ({name}): {}", f.label.en, en.as_ref()),
            format!("“{}”：{}", f.label.zh, zh.as_ref()),
        ),
        missing: false,
    }
}

/// Fills the form of `action` with `values` (unset fields take their
/// defaults) and returns the command, or every field that was refused.
/// A time typed without its UTC offset (`2026-12-01 14:30`, as the forms'
/// hint shows it) is the business time zone's `zone`.
pub fn fill(
    action: &str,
    values: &[FormValue],
    state: &VisitState,
    playbook: &Playbook,
    zone: &BusinessZone,
) -> Result<VisitCommand, FormError> {
    let Some(fields) = fields_of(action, state, playbook) else {
        return Err(FormError {
            action: action.to_string(),
            problems: vec![FieldProblem {
                field: "action".into(),
                text: Text::new(
                    format!("“{action}” is not an action a technician fills in (center facts arrive through sync)."),
                    format!("“{}”不是技师可填写的操作（中心信息通过同步到达）。", super::command_table::label_of(action).zh),
                ),
                missing: false,
            }],
        });
    };
    let mut given: BTreeMap<&str, Vec<&FieldValue>> = BTreeMap::new();
    for v in values {
        given.entry(v.name.as_str()).or_default().push(&v.value);
    }
    let mut problems = vec![];
    for name in given.keys() {
        if !known_name(name, &fields) {
            let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            problems.push(FieldProblem {
                field: name.to_string(),
                text: Text::new(
                    format!(
                        "“{name}” is not a field of {action}; its fields are: {}.",
                        names.join(", ")
                    ),
                    format!(
                        "“{name}”不是“{}”的字段（可填：{}）。",
                        super::command_table::label_of(action).zh,
                        fields
                            .iter()
                            .map(|f| f.label.zh.as_str())
                            .collect::<Vec<_>>()
                            .join("、")
                    ),
                ),
                missing: false,
            });
        }
    }
    let mut obj = Map::new();
    obj.insert("type".into(), Value::String(action.into()));
    for f in &fields {
        if !visible(f, &fields, &given) {
            continue;
        }
        if f.kind == FieldKind::List {
            fill_list(f, &given, &mut obj, &mut problems, zone);
            continue;
        }
        let vals = values_of(f, given.get(f.name.as_str()));
        if vals.is_empty() {
            if f.required {
                problems.push(required(f, &f.name));
            } else if f.kind == FieldKind::MultiChoice {
                insert_path(&mut obj, &f.name, Value::Array(vec![]));
            }
            continue;
        }
        match convert(f, &f.name, &vals, zone) {
            Ok(Converted::Value(v)) => insert_path(&mut obj, &f.name, v),
            Ok(Converted::NoLocation(reason)) => {
                insert_path(&mut obj, &f.name, Value::Null);
                // Only an arrival records why there is no fix; elsewhere
                // (the trip's starting point) no place is simply no place.
                if f.name == "location" {
                    insert_path(
                        &mut obj,
                        "location_unavailable",
                        serde_json::to_value(reason).unwrap_or(Value::Null),
                    );
                }
            }
            Err(p) => problems.push(p),
        }
    }
    if !problems.is_empty() {
        return Err(FormError {
            action: action.into(),
            problems,
        });
    }
    name_fault_codes(action, &mut obj, playbook);
    serde_json::from_value(Value::Object(obj)).map_err(|e| FormError {
        action: action.into(),
        problems: vec![FieldProblem {
            field: "action".into(),
            text: Text::new(
                format!("The form of {action} did not make a command: {e}."),
                format!(
                    "“{}”表单无法生成操作指令（{e}）。",
                    super::command_table::label_of(action).zh
                ),
            ),
            missing: false,
        }],
    })
}

fn required(f: &FormField, name: &str) -> FieldProblem {
    problem(f, name, "required: fill it in.", "必填项，请填写。")
}

/// The values a field takes: those given (blank ones dropped), else its default.
fn values_of(f: &FormField, given: Option<&Vec<&FieldValue>>) -> Vec<FieldValue> {
    let given: Vec<FieldValue> = given
        .map(|vs| {
            vs.iter()
                .filter(|v| !matches!(v, FieldValue::Text(t) if t.trim().is_empty()))
                .map(|v| (*v).clone())
                .collect()
        })
        .unwrap_or_default();
    let vals = if given.is_empty() {
        f.default
            .iter()
            .map(|d| FieldValue::Text(d.clone()))
            .collect()
    } else {
        given
    };
    if f.kind == FieldKind::MultiChoice {
        // "a,b" and repeated values are the same choice.
        vals.into_iter()
            .flat_map(|v| match v {
                FieldValue::Text(t) => t
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| FieldValue::Text(s.to_string()))
                    .collect(),
                other => vec![other],
            })
            .collect()
    } else {
        vals
    }
}

fn known_name(name: &str, fields: &[FormField]) -> bool {
    if fields
        .iter()
        .any(|f| f.name == name && f.kind != FieldKind::List)
    {
        return true;
    }
    match list_address(name) {
        Some((list, _, item)) => fields.iter().any(|f| {
            f.name == list
                && f.kind == FieldKind::List
                && f.item_fields.iter().any(|i| i.name == item)
        }),
        None => false,
    }
}

/// `quote.lines[2].qty` → (`quote.lines`, 2, `qty`).
fn list_address(name: &str) -> Option<(&str, usize, &str)> {
    let (list, rest) = name.split_once('[')?;
    let (index, rest) = rest.split_once(']')?;
    let item = rest.strip_prefix('.')?;
    Some((list, index.parse().ok()?, item))
}

fn visible(f: &FormField, fields: &[FormField], given: &BTreeMap<&str, Vec<&FieldValue>>) -> bool {
    let Some(when) = &f.visible_when else {
        return true;
    };
    let controlling = fields.iter().find(|c| c.name == when.field);
    let current = given
        .get(when.field.as_str())
        .and_then(|vs| {
            vs.iter().find_map(|v| match v {
                FieldValue::Text(t) if !t.trim().is_empty() => Some(t.trim().to_string()),
                _ => None,
            })
        })
        .or_else(|| controlling.and_then(|c| c.default.clone()));
    current.is_some_and(|c| when.any_of.contains(&c))
}

fn fill_list(
    f: &FormField,
    given: &BTreeMap<&str, Vec<&FieldValue>>,
    obj: &mut Map<String, Value>,
    problems: &mut Vec<FieldProblem>,
    zone: &BusinessZone,
) {
    let mut rows: BTreeMap<usize, BTreeMap<String, Vec<&FieldValue>>> = BTreeMap::new();
    for (name, vs) in given {
        if let Some((list, i, item)) = list_address(name) {
            if list == f.name {
                rows.entry(i)
                    .or_default()
                    .entry(item.to_string())
                    .or_default()
                    .extend(vs.iter().copied());
            }
        }
    }
    let defaults: Vec<BTreeMap<String, Vec<&FieldValue>>>;
    let rows: Vec<(usize, BTreeMap<String, Vec<&FieldValue>>)> = if rows.is_empty() {
        defaults = f
            .default_items
            .iter()
            .map(|row| {
                let mut m: BTreeMap<String, Vec<&FieldValue>> = BTreeMap::new();
                for v in row {
                    m.entry(v.name.clone()).or_default().push(&v.value);
                }
                m
            })
            .collect();
        defaults.into_iter().enumerate().collect()
    } else {
        rows.into_iter().collect()
    };
    if rows.is_empty() {
        if f.required {
            problems.push(problem(
                f,
                &f.name,
                "add at least one line.",
                "请至少添加一行。",
            ));
        } else {
            insert_path(obj, &f.name, Value::Array(vec![]));
        }
        return;
    }
    let mut items = vec![];
    for (i, row) in rows {
        let mut item = Map::new();
        for sub in &f.item_fields {
            let name = format!("{}[{i}].{}", f.name, sub.name);
            let vals = values_of(sub, row.get(&sub.name));
            if vals.is_empty() {
                if sub.required {
                    problems.push(required(sub, &name));
                }
                continue;
            }
            match convert(sub, &name, &vals, zone) {
                Ok(Converted::Value(v)) => insert_path(&mut item, &sub.name, v),
                Ok(Converted::NoLocation(_)) => {}
                Err(p) => problems.push(p),
            }
        }
        items.push(Value::Object(item));
    }
    insert_path(obj, &f.name, Value::Array(items));
}

fn insert_path(obj: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            obj.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            let child = obj
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            if let Value::Object(m) = child {
                insert_path(m, rest, value);
            }
        }
    }
}

/// The stored cause is the fault's Chinese name (what the report shows), or
/// the free text of "other"; a fault from the catalogue is also recorded by
/// its code (`fault_code`).
fn name_fault_codes(action: &str, obj: &mut Map<String, Value>, pb: &Playbook) {
    let name = |id: &str| {
        pb.fault_codes
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.name.zh.clone())
    };
    match action {
        "record_diagnosis" => {
            let other = obj.remove("cause_other");
            if let Some(Value::String(cause)) = obj.get("cause").cloned() {
                let named = if cause == OTHER {
                    other.and_then(|o| o.as_str().map(str::to_string))
                } else {
                    // A catalogued fault is recorded by its code as well as its name.
                    if name(&cause).is_some() {
                        obj.insert("fault_code".into(), Value::String(cause.clone()));
                    }
                    name(&cause)
                };
                if let Some(n) = named {
                    obj.insert("cause".into(), Value::String(n));
                }
            }
        }
        "record_triage" => {
            if let Some(Value::Array(causes)) = obj.get_mut("likely_causes") {
                for c in causes.iter_mut() {
                    if let Some(n) = c.as_str().and_then(name) {
                        *c = Value::String(n);
                    }
                }
            }
        }
        _ => {}
    }
}

enum Converted {
    Value(Value),
    NoLocation(LocationUnavailable),
}

fn convert(
    f: &FormField,
    name: &str,
    vals: &[FieldValue],
    zone: &BusinessZone,
) -> Result<Converted, FieldProblem> {
    use FieldKind::*;
    let err = |en: String, zh: String| problem(f, name, en, zh);
    if f.kind == MultiChoice {
        let mut out = vec![];
        let mut bad = vec![];
        for v in vals {
            match v {
                FieldValue::Text(t) if f.options.is_empty() || option_named(f, t).is_some() => {
                    let id = option_named(f, t).unwrap_or(t).to_string();
                    if !out.contains(&Value::String(id.clone())) {
                        out.push(Value::String(id));
                    }
                }
                FieldValue::Text(t) => bad.push(t.clone()),
                _ => bad.push("(not text)".into()),
            }
        }
        if !bad.is_empty() {
            let (en, zh) = option_list(f);
            return Err(err(
                format!("{} is not one of: {en}.", bad.join(", ")),
                format!("“{}”不在可选项中（可选：{zh}）。", bad.join("、")),
            ));
        }
        if out.is_empty() && f.required {
            return Err(required(f, name));
        }
        return Ok(Converted::Value(Value::Array(out)));
    }
    if vals.len() > 1 {
        return Err(err("give one value.".into(), "只能填写一个值。".into()));
    }
    let v = &vals[0];
    match (f.kind, v) {
        (Location, FieldValue::Location(fix)) => location_value(f, name, *fix),
        (Location, FieldValue::NoLocation(r)) => Ok(Converted::NoLocation(*r)),
        (Location, FieldValue::Text(t)) => match parse_location_text(t) {
            Some(Ok(fix)) => location_value(f, name, fix),
            Some(Err(r)) => Ok(Converted::NoLocation(r)),
            None => Err(err(
                format!("{t:?} is not a location: give \"lat,lon[,accuracy_m]\", or permission_denied / no_fix."),
                format!("“{t}”不是有效位置：请填纬度和经度（可再加精度米数），用逗号分隔，例如 31.2304，121.4737，10；没有定位时填“拒绝定位”或“无法定位”。"),
            )),
        },
        (Signature, FieldValue::Strokes(s)) => signature_value(f, name, s),
        (Signature, FieldValue::Text(t)) => match parse_strokes_text(t) {
            Some(s) => signature_value(f, name, &s),
            None => Err(err(
                "not a signature: strokes of points \"x,y,t_ms\" separated by spaces, strokes by \";\".".into(),
                "不是有效签名：每个点写作“横坐标，纵坐标，毫秒”，点之间用空格分隔，笔画之间用分号分隔。".into(),
            )),
        },
        (_, FieldValue::Text(t)) => text_value(f, name, t.trim(), zone).map(Converted::Value),
        _ => Err(err(
            "expects typed text for this kind of field.".into(),
            "此字段应填写文字。".into(),
        )),
    }
}

/// The options, as a refusal lists them: ids and names in English (what a
/// terminal types), names only in Chinese (a name may be typed too).
fn option_list(f: &FormField) -> (String, String) {
    (
        f.options
            .iter()
            .map(|o| format!("{} ({})", o.id, o.label.en))
            .collect::<Vec<_>>()
            .join(", "),
        f.options
            .iter()
            .map(|o| o.label.zh.as_str())
            .collect::<Vec<_>>()
            .join("、"),
    )
}

/// The option a typed value names: its id, or its name in either language.
fn option_named<'f>(f: &'f FormField, typed: &str) -> Option<&'f str> {
    let typed = typed.trim();
    f.options
        .iter()
        .find(|o| o.id == typed || o.label.zh == typed || o.label.en.eq_ignore_ascii_case(typed))
        .map(|o| o.id.as_str())
}

fn location_value(f: &FormField, name: &str, fix: GeoFix) -> Result<Converted, FieldProblem> {
    if !fix.is_valid() {
        return Err(problem(
            f,
            name,
            "not a valid fix: latitude -90..90, longitude -180..180, accuracy ≥ 0 m.",
            "定位无效：纬度-90至90，经度-180至180，精度不小于0米。",
        ));
    }
    Ok(Converted::Value(
        serde_json::to_value(fix).unwrap_or(Value::Null),
    ))
}

fn signature_value(f: &FormField, name: &str, s: &[Stroke]) -> Result<Converted, FieldProblem> {
    if !strokes_are_signature(s) {
        return Err(problem(
            f,
            name,
            "not a signature: draw at least one stroke of two or more points.",
            "签名无效：请至少画一笔（两个点以上）。",
        ));
    }
    Ok(Converted::Value(
        serde_json::to_value(s).unwrap_or(Value::Null),
    ))
}

fn bounded(
    f: &FormField,
    name: &str,
    n: i64,
    show: impl Fn(i64) -> String,
) -> Result<i64, FieldProblem> {
    let below = f.min.is_some_and(|m| n < m);
    let above = f.max.is_some_and(|m| n > m);
    if !below && !above {
        return Ok(n);
    }
    let range_en = match (f.min, f.max) {
        (Some(a), Some(b)) => format!("from {} to {}", show(a), show(b)),
        (Some(a), None) => format!("at least {}", show(a)),
        (None, Some(b)) => format!("at most {}", show(b)),
        (None, None) => String::new(),
    };
    let range_zh = match (f.min, f.max) {
        (Some(a), Some(b)) => format!("{}至{}", show(a), show(b)),
        (Some(a), None) => format!("不小于{}", show(a)),
        (None, Some(b)) => format!("不大于{}", show(b)),
        (None, None) => String::new(),
    };
    Err(problem(
        f,
        name,
        format!("{} is out of range: {range_en}.", show(n)),
        format!("{}超出范围：应为{range_zh}。", show(n)),
    ))
}

fn text_value(
    f: &FormField,
    name: &str,
    t: &str,
    zone: &BusinessZone,
) -> Result<Value, FieldProblem> {
    use FieldKind::*;
    let err = |en: String, zh: String| problem(f, name, en, zh);
    match f.kind {
        Text | LongText | Photo => {
            let max = f.max.unwrap_or(super::form::TEXT_MAX);
            let len = t.chars().count() as i64;
            if len > max {
                return Err(err(
                    format!("{len} characters is too long: at most {max}."),
                    format!("共{len}字，太长：最多{max}字。"),
                ));
            }
            Ok(Value::String(t.to_string()))
        }
        Integer | Duration | Rating => {
            let digits = t.trim_end_matches("分钟").trim_end_matches("min").trim();
            let Ok(n) = digits.parse::<i64>() else {
                let what = match f.kind {
                    Duration => ("whole minutes, e.g. 20", "整数分钟，例如20"),
                    Rating => ("a whole number of stars from 1 to 5", "1至5的整数星级"),
                    _ => ("a whole number", "整数"),
                };
                return Err(err(
                    format!("{t:?} is not {}.", what.0),
                    format!("“{t}”无效：应为{}。", what.1),
                ));
            };
            bounded(f, name, n, |v| v.to_string()).map(Value::from)
        }
        Money => match parse_yuan(t) {
            Ok(fen) => bounded(f, name, fen, |v| format!("¥{}", yuan_digits(v))).map(Value::from),
            Err(e) => {
                let (en, zh) = match e {
                    YuanError::TooManyDecimals => (
                        "more than two decimals: fen are the smallest unit and amounts are never rounded",
                        "小数超过两位：最小单位为分，金额不做四舍五入",
                    ),
                    YuanError::Negative => ("amounts are never negative", "金额不能为负数"),
                    YuanError::Empty => ("no amount given", "未填写金额"),
                    YuanError::TooLarge => ("the amount is too large", "金额过大"),
                    YuanError::NotANumber => ("not an amount in yuan", "不是有效的人民币金额"),
                };
                Err(err(
                    format!("{t:?}: {en}. Type yuan such as 168, 168.5 or ¥168.50."),
                    format!("“{t}”：{zh}。请按元填写，例如 168、168.5 或 ¥168.50。"),
                ))
            }
        },
        Choice => {
            if f.options.is_empty() {
                Ok(Value::String(t.to_string()))
            } else if let Some(id) = option_named(f, t) {
                Ok(Value::String(id.to_string()))
            } else {
                let (en, zh) = option_list(f);
                Err(err(
                    format!("{t:?} is not one of: {en}."),
                    format!("“{t}”不在可选项中（可选：{zh}）。"),
                ))
            }
        }
        YesNo => match t.to_ascii_lowercase().as_str() {
            "yes" | "y" | "true" | "1" | "是" => Ok(Value::Bool(true)),
            "no" | "n" | "false" | "0" | "否" => Ok(Value::Bool(false)),
            _ => Err(err(
                format!("{t:?} is not yes or no."),
                format!("“{t}”无效：请填“是”或“否”（yes/no）。"),
            )),
        },
        DateTime => match typed_time(t, zone) {
            Some(at) => Ok(Value::String(at.to_rfc3339())),
            None => Err(err(
                format!("{t:?} is not a time: write it as 2026-12-01 14:30 (local time), or with its UTC offset, 2026-12-01T14:30:00+08:00."),
                format!("“{t}”不是有效时间：请按“2026-12-01 14:30”填写（本地时间），或带时区，例如 2026-12-01T14:30:00+08:00。"),
            )),
        },
        Date => match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
            Ok(d) => Ok(Value::String(d.to_string())),
            Err(_) => Err(err(
                format!("{t:?} is not a date such as 2026-12-01."),
                format!("“{t}”不是有效日期，例如 2026-12-01。"),
            )),
        },
        MultiChoice | List | Signature | Location => Err(err(
            "expects another kind of value.".into(),
            "此字段的值类型不符。".into(),
        )),
    }
}

/// A time as typed: local wall time of the business time zone
/// (`2026-12-01 14:30`, seconds optional, `T` or a space between), or an
/// RFC 3339 time with its UTC offset.
fn typed_time(t: &str, zone: &BusinessZone) -> Option<chrono::DateTime<chrono::Utc>> {
    let t = t.replacen(' ', "T", 1);
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(&t) {
        return Some(at.to_utc());
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(&t, format).ok())
        .map(|local| zone.instant_of(local))
}

/// Reads a location typed as text: `31.2216,121.5441[,8]` (WGS-84, accuracy
/// in metres, 0 when omitted), or `permission_denied` / `no_fix`.
pub fn parse_location_text(t: &str) -> Option<Result<GeoFix, LocationUnavailable>> {
    match t.trim() {
        "permission_denied" | "拒绝定位" => {
            return Some(Err(LocationUnavailable::PermissionDenied))
        }
        "no_fix" | "无法定位" => return Some(Err(LocationUnavailable::NoFix)),
        _ => {}
    }
    // A Chinese keyboard types full-width commas.
    let t = t.replace('，', ",");
    let parts: Vec<f64> = t
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .ok()?;
    let (lat, lon, accuracy_m) = match parts.as_slice() {
        [lat, lon] => (*lat, *lon, 0.0),
        [lat, lon, acc] => (*lat, *lon, *acc),
        _ => return None,
    };
    Some(Ok(GeoFix {
        point: GeoPoint { lat, lon },
        accuracy_m,
    }))
}

/// Reads strokes typed as text: points `x,y,t_ms` separated by spaces,
/// strokes separated by `;`.
pub fn parse_strokes_text(t: &str) -> Option<Vec<Stroke>> {
    // A Chinese keyboard types full-width commas and semicolons.
    let t = t.replace('，', ",").replace('；', ";");
    t.split(';')
        .filter(|s| !s.trim().is_empty())
        .map(|stroke| {
            stroke
                .split_whitespace()
                .map(|p| {
                    let n: Vec<&str> = p.split(',').collect();
                    match n.as_slice() {
                        [x, y, t] => Some(StrokePoint {
                            x: x.parse().ok()?,
                            y: y.parse().ok()?,
                            t_ms: t.parse().ok()?,
                        }),
                        _ => None,
                    }
                })
                .collect::<Option<Vec<_>>>()
                .map(|points| Stroke { points })
        })
        .collect()
}
