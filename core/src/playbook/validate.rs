//! Playbook validation: every refusal names the file, the field and the problem.

use super::{Playbook, Step};
use std::collections::HashSet;

/// A playbook that was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("playbook {source_name}: {}{problem}", if field.is_empty() { String::new() } else { format!("{field}: ") })]
pub struct PlaybookError {
    /// The file (or label) the playbook came from.
    pub source_name: String,
    /// Dotted path of the offending field, empty when it concerns the whole file.
    pub field: String,
    pub problem: String,
}

impl PlaybookError {
    fn at(source: &str, field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            source_name: source.to_string(),
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// A TOML syntax or shape error, located: the field's dotted path is
    /// worked out from where the parser stopped. With the `toml` feature.
    #[cfg(feature = "toml")]
    pub(super) fn parse(source: &str, text: &str, e: &toml::de::Error) -> Self {
        let msg = e.message().trim().to_string();
        let Some(span) = e.span() else {
            return Self::at(source, named_field("", &msg), msg);
        };
        let offset = span.start.min(text.len());
        let line = text[..offset].matches('\n').count() + 1;
        let column = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1) + 1;
        let missing = msg.starts_with("missing field");
        let field = named_field(&locate::toml_path(text, offset, missing), &msg);
        Self::at(
            source,
            field,
            format!("{msg} (line {line}, column {column})"),
        )
    }

    /// A JSON syntax or shape error, located like a TOML one.
    pub(super) fn parse_json(source: &str, text: &str, e: &serde_json::Error) -> Self {
        let offset = locate::offset_of(text, e.line(), e.column());
        let msg = e.to_string();
        let missing = msg.starts_with("missing field");
        let field = named_field(&locate::json_path(text, offset, missing), &msg);
        Self::at(source, field, e.to_string())
    }
}

/// Completes a located path with the field a serde message names
/// ("missing field `knock`", "unknown field `colour`").
fn named_field(path: &str, msg: &str) -> String {
    for prefix in ["missing field `", "unknown field `"] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            if let Some(name) = rest.split('`').next() {
                let last = path.rsplit('.').next().unwrap_or("");
                if last == name {
                    return path.to_string();
                }
                return if path.is_empty() {
                    name.to_string()
                } else {
                    format!("{path}.{name}")
                };
            }
        }
    }
    path.to_string()
}

/// Finding the field at a position of a playbook's text, for parse errors.
mod locate {
    /// Byte offset of a 1-based line and column (serde_json's convention).
    pub fn offset_of(text: &str, line: usize, column: usize) -> usize {
        let start: usize = text
            .split_inclusive('\n')
            .take(line.saturating_sub(1))
            .map(str::len)
            .sum();
        (start + column.saturating_sub(1)).min(text.len())
    }

    /// The path of the value being read at `offset` in a JSON document,
    /// e.g. `kit[2].weight_kg`; with `container`, of the object being read
    /// (a missing field is reported at the end of its object).
    pub fn json_path(text: &str, offset: usize, container: bool) -> String {
        enum Frame {
            Object(Option<String>),
            Array(usize),
        }
        let mut stack: Vec<Frame> = vec![];
        let mut expecting_key = false;
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if i >= offset {
                break;
            }
            match c {
                '"' => {
                    let mut s = String::new();
                    while let Some((_, c)) = chars.next() {
                        match c {
                            '\\' => {
                                chars.next();
                            }
                            '"' => break,
                            c => s.push(c),
                        }
                    }
                    if expecting_key {
                        if let Some(Frame::Object(key)) = stack.last_mut() {
                            *key = Some(s);
                        }
                        expecting_key = false;
                    }
                }
                '{' => {
                    stack.push(Frame::Object(None));
                    expecting_key = true;
                }
                '[' => stack.push(Frame::Array(0)),
                '}' | ']' => {
                    // The error is often reported just after a closing
                    // bracket (a missing field): keep naming that value.
                    if chars.peek().is_some_and(|(j, _)| *j < offset) {
                        stack.pop();
                    } else {
                        break;
                    }
                }
                ',' => match stack.last_mut() {
                    Some(Frame::Array(n)) => *n += 1,
                    Some(Frame::Object(_)) => expecting_key = true,
                    None => {}
                },
                _ => {}
            }
        }
        if container {
            if let Some(Frame::Object(key)) = stack.last_mut() {
                *key = None;
            }
        }
        let mut path = String::new();
        for f in &stack {
            match f {
                Frame::Object(Some(k)) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                }
                Frame::Object(None) => {}
                Frame::Array(n) => path.push_str(&format!("[{n}]")),
            }
        }
        path
    }

    /// The path of the key or value at `offset` in a TOML document: the
    /// table header above it, the key of its line (or of the multi-line
    /// array it continues) and the array index, e.g. `steps[3]`, `kit[2].id`;
    /// with `table_only`, just the table (a missing field is reported on it).
    /// With the `toml` feature.
    #[cfg(feature = "toml")]
    pub fn toml_path(text: &str, offset: usize, table_only: bool) -> String {
        let mut table = String::new();
        let mut counts: std::collections::HashMap<String, usize> = Default::default();
        let mut key: Option<(String, usize)> = None; // key and where its value starts
        let mut pos = 0;
        for line in text.split_inclusive('\n') {
            if pos > offset {
                break;
            }
            let trimmed = line.trim();
            if let Some(name) = trimmed
                .strip_prefix("[[")
                .and_then(|r| r.split("]]").next())
            {
                let name = name.trim().to_string();
                let n = counts.entry(name.clone()).or_insert(0);
                table = format!("{name}[{n}]");
                *n += 1;
                key = None;
            } else if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.split(']').next()) {
                table = name.trim().to_string();
                key = None;
            } else if let Some(eq) = line.find('=') {
                let k = line[..eq].trim();
                if !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '"'))
                {
                    key = Some((k.trim_matches('"').to_string(), pos + eq + 1));
                }
            }
            pos += line.len();
        }
        let mut path = table;
        if let Some((k, value_start)) = key.filter(|_| !table_only) {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&k);
            // Inside an array value: which element.
            let value = &text[value_start.min(offset)..offset];
            if value.trim_start().starts_with('[') {
                let (mut depth, mut index, mut in_str) = (0, 0, false);
                for c in value.chars() {
                    match c {
                        '"' => in_str = !in_str,
                        '[' | '{' if !in_str => depth += 1,
                        ']' | '}' if !in_str => depth -= 1,
                        ',' if !in_str && depth == 1 => index += 1,
                        _ => {}
                    }
                }
                if depth >= 1 {
                    path.push_str(&format!("[{index}]"));
                }
            }
        }
        path
    }
}

const REQUIRED_STEPS: [Step; 4] = [Step::Receive, Step::Arrive, Step::SignOff, Step::Leave];

impl Playbook {
    pub(super) fn validate(&self, src: &str) -> Result<(), PlaybookError> {
        let err = |field: &str, problem: String| Err(PlaybookError::at(src, field, problem));
        if self.version < 1 {
            return err(
                "version",
                format!("must be 1 or more, got {}", self.version),
            );
        }
        if self.name.en.trim().is_empty() || self.name.zh.trim().is_empty() {
            return err("name", "needs both an en and a zh name".into());
        }
        // Steps: no duplicates, in the standard's order, the mandatory ones present.
        let mut seen = HashSet::new();
        for (i, step) in self.steps.iter().enumerate() {
            if !seen.insert(*step) {
                return err(
                    &format!("steps[{i}]"),
                    format!("duplicate step {:?}", step.as_str()),
                );
            }
            if i > 0 && self.steps[i - 1] > *step {
                return err(
                    &format!("steps[{i}]"),
                    format!(
                        "step {:?} comes after {:?} in the standard; list steps in the standard's order",
                        step.as_str(),
                        self.steps[i - 1].as_str()
                    ),
                );
            }
        }
        for required in REQUIRED_STEPS {
            if !self.has(required) {
                return err(
                    "steps",
                    format!("missing mandatory step {:?}", required.as_str()),
                );
            }
        }
        let dependent = [
            (
                Step::Enter,
                Step::Knock,
                "entering follows the door-knock protocol",
            ),
            (Step::Test, Step::Work, "a test run tests work"),
            (
                Step::Payment,
                Step::Quote,
                "payment collects an accepted quote",
            ),
        ];
        for (step, needs, why) in dependent {
            if self.has(step) && !self.has(needs) {
                return err(
                    "steps",
                    format!(
                        "step {:?} needs step {:?} ({why})",
                        step.as_str(),
                        needs.as_str()
                    ),
                );
            }
        }
        let mut fields = HashSet::new();
        for (i, f) in self.required_fields.iter().enumerate() {
            if !fields.insert(*f) {
                return err(
                    &format!("required_fields[{i}]"),
                    format!("duplicate field {:?}", f.as_str()),
                );
            }
        }

        // Durations and counts: non-negative, positive where zero makes no sense.
        let t = &self.timing;
        let k = &self.knock;
        let c = &self.callbacks;
        let checks: [(&str, i64, i64); 21] = [
            (
                "timing.early_arrival_min_minutes",
                t.early_arrival_min_minutes,
                0,
            ),
            (
                "timing.early_arrival_max_minutes",
                t.early_arrival_max_minutes,
                0,
            ),
            ("timing.late_serious_minutes", t.late_serious_minutes, 1),
            ("timing.late_call_lead_minutes", t.late_call_lead_minutes, 0),
            (
                "timing.call_attempts_before_unreachable",
                t.call_attempts_before_unreachable,
                1,
            ),
            ("timing.geofence_radius_m", t.geofence_radius_m, 1),
            ("timing.travel_speed_kmh", t.travel_speed_kmh, 1),
            ("knock.knocks_per_round", k.knocks_per_round, 1),
            ("knock.rounds", k.rounds, 1),
            ("knock.interval_seconds", k.interval_seconds, 1),
            ("knock.call_after_minutes", k.call_after_minutes, 0),
            ("knock.absent_minimum_minutes", k.absent_minimum_minutes, 1),
            (
                "callbacks.remote_guidance_hours",
                c.remote_guidance_hours,
                1,
            ),
            (
                "callbacks.untested_repair_hours",
                c.untested_repair_hours,
                1,
            ),
            ("callbacks.uncertain_fix_hours", c.uncertain_fix_hours, 1),
            ("callbacks.second_level_hours", c.second_level_hours, 1),
            (
                "callbacks.dissatisfied_follow_up_hours",
                c.dissatisfied_follow_up_hours,
                1,
            ),
            (
                "callbacks.monthly_sample_min_percent",
                c.monthly_sample_min_percent,
                0,
            ),
            (
                "callbacks.monthly_sample_max_percent",
                c.monthly_sample_max_percent,
                0,
            ),
            (
                "free_software_adjustment_days",
                self.free_software_adjustment_days,
                0,
            ),
            ("version", self.version, 1),
        ];
        for (field, value, min) in checks {
            if value < min {
                let what = if value < 0 { "negative" } else { "too small" };
                return err(
                    field,
                    format!("{what} value {value}: must be at least {min}"),
                );
            }
        }
        if t.early_arrival_min_minutes > t.early_arrival_max_minutes {
            return err(
                "timing.early_arrival_min_minutes",
                format!(
                    "{} is more than early_arrival_max_minutes {}",
                    t.early_arrival_min_minutes, t.early_arrival_max_minutes
                ),
            );
        }
        if c.monthly_sample_max_percent > 100
            || c.monthly_sample_min_percent > c.monthly_sample_max_percent
        {
            return err(
                "callbacks.monthly_sample_max_percent",
                format!(
                    "the sample range {}-{} % must satisfy min <= max <= 100",
                    c.monthly_sample_min_percent, c.monthly_sample_max_percent
                ),
            );
        }
        if k.absent_minimum_minutes < k.call_after_minutes {
            return err(
                "knock.absent_minimum_minutes",
                "must not be shorter than knock.call_after_minutes: the call comes before giving up".into(),
            );
        }

        // Lists: unique ids, sane prices.
        for (list, ids) in [
            (
                "kit",
                self.kit.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(),
            ),
            (
                "appearance",
                self.appearance.iter().map(|k| k.id.as_str()).collect(),
            ),
            ("fees", self.fees.iter().map(|f| f.id.as_str()).collect()),
            (
                "photos",
                self.photos.iter().map(|m| m.id.as_str()).collect(),
            ),
        ] {
            let mut seen = HashSet::new();
            for (i, id) in ids.iter().enumerate() {
                if id.trim().is_empty() {
                    return err(&format!("{list}[{i}].id"), "must not be empty".into());
                }
                if !seen.insert(*id) {
                    return err(&format!("{list}[{i}].id"), format!("duplicate id {id:?}"));
                }
            }
        }
        let mut codes = HashSet::new();
        for (i, code) in self.fault_codes.iter().enumerate() {
            if code.id.trim().is_empty() || code.id == "other" {
                return err(
                    &format!("fault_codes[{i}].id"),
                    "must not be empty nor \"other\" (the form adds \"other\" itself)".into(),
                );
            }
            if !codes.insert(code.id.as_str()) {
                return err(
                    &format!("fault_codes[{i}].id"),
                    format!("duplicate id {:?}", code.id),
                );
            }
            if code.name.en.trim().is_empty() || code.name.zh.trim().is_empty() {
                return err(
                    &format!("fault_codes[{i}].name"),
                    "needs both an en and a zh name".into(),
                );
            }
        }
        if !self.fault_codes.is_empty() && !self.has(Step::Diagnose) {
            return err(
                "fault_codes",
                "fault codes are offered by the diagnose step, which this trade does not walk"
                    .into(),
            );
        }
        for (i, moment) in self.photos.iter().enumerate() {
            if moment.name.en.trim().is_empty() || moment.name.zh.trim().is_empty() {
                return err(
                    &format!("photos[{i}].name"),
                    "needs both an en and a zh name".into(),
                );
            }
            if !self.has(moment.step) {
                return err(
                    &format!("photos[{i}].step"),
                    format!(
                        "the photo belongs to the {:?} step, which this trade does not walk",
                        moment.step.as_str()
                    ),
                );
            }
        }
        for (i, fee) in self.fees.iter().enumerate() {
            if fee.price < 0 {
                return err(
                    &format!("fees[{i}].price"),
                    format!("negative price {}", fee.price),
                );
            }
        }
        if self.has(Step::Prepare) && !self.kit.iter().any(|k| k.mandatory) {
            return err(
                "kit",
                "the prepare step needs at least one mandatory kit item".into(),
            );
        }
        if self.rules.drop_cloth && !self.kit.iter().any(|k| k.id == "drop_cloth" && k.mandatory) {
            return err(
                "kit",
                "rules.drop_cloth needs a mandatory kit item with id \"drop_cloth\"".into(),
            );
        }
        if self.rules.shoe_covers && !self.kit.iter().any(|k| k.id == "shoe_covers") {
            return err(
                "kit",
                "rules.shoe_covers needs a kit item with id \"shoe_covers\"".into(),
            );
        }
        let rule_steps = [
            (
                "rules.remote_resolution",
                self.rules.remote_resolution,
                Step::Triage,
            ),
            (
                "rules.data_risk_consent",
                self.rules.data_risk_consent,
                Step::Diagnose,
            ),
            ("rules.take_back", self.rules.take_back, Step::Diagnose),
            ("rules.shoe_covers", self.rules.shoe_covers, Step::Protect),
            ("rules.drop_cloth", self.rules.drop_cloth, Step::Protect),
            (
                "rules.no_deposit_iou",
                self.rules.no_deposit_iou,
                Step::Payment,
            ),
            (
                "rules.guardian_present",
                self.rules.guardian_present,
                Step::Work,
            ),
        ];
        for (field, on, step) in rule_steps {
            if on && !self.has(step) {
                return err(
                    field,
                    format!("is on but the playbook has no {:?} step", step.as_str()),
                );
            }
        }
        if self.has(Step::Quote)
            && !self.fees.iter().any(|f| f.kind == super::FeeKind::Visit)
            && !self
                .fees
                .iter()
                .any(|f| matches!(f.kind, super::FeeKind::Goods | super::FeeKind::Service))
        {
            return err(
                "fees",
                "a playbook with a quote step needs a fee schedule".into(),
            );
        }
        if self.has(Step::Work) && self.rules.work_kinds.is_empty() {
            return err(
                "rules.work_kinds",
                "a playbook with a work step needs at least one kind of work".into(),
            );
        }
        if self.company.service_number.trim().is_empty() {
            return err(
                "company.service_number",
                "must be the company's service number".into(),
            );
        }
        Ok(())
    }
}
