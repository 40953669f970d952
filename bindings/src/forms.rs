//! The form descriptions across the FFI: what each action the visit offers
//! asks for (`ActionForm`, `FormField`), the values a shell collected
//! (`FormValue`), and the conversions from and into the core's types. The
//! shells render any action generically from these and submit the values;
//! the core fills them into the command (`DeviceStore::submit_action`,
//! `VisitSession::submit_action`). No shell builds command JSON.

use crate::error::DoorstepError;
use crate::types::{LocalizedText, Location, SignatureStroke};
use doorstep_core::location::LocationUnavailable as CoreUnavailable;
use doorstep_core::signoff::Stroke;
use doorstep_core::workflow::form as core;
use doorstep_core::workflow::form_fill::FormError;

/// What kind of input a field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum FieldKind {
    /// One line of text (`max` characters).
    Text,
    /// Several lines of text.
    LongText,
    /// A whole number within `min`..=`max`.
    Integer,
    /// Money: bounds and defaults in yuan text for the default, fen for `min`/`max`;
    /// typed as yuan (`168`, `168.5`, `¥168.50`).
    Money,
    /// One of `options`.
    Choice,
    /// Any of `options`: one value per chosen option.
    MultiChoice,
    /// `yes` or `no`.
    YesNo,
    /// A moment, RFC 3339 with its offset.
    DateTime,
    /// A day, `2026-12-01`.
    Date,
    /// Whole minutes.
    Duration,
    /// A photo reference.
    Photo,
    /// A signature (`FieldValue::Strokes`).
    Signature,
    /// The phone's fix (`FieldValue::Fix`) or why there is none (`FieldValue::NoLocation`).
    Location,
    /// 1 to 5 stars; never defaulted.
    Rating,
    /// Rows of `item_fields`, named `list[0].item`.
    List,
}

impl From<core::FieldKind> for FieldKind {
    fn from(k: core::FieldKind) -> Self {
        use core::FieldKind as K;
        match k {
            K::Text => Self::Text,
            K::LongText => Self::LongText,
            K::Integer => Self::Integer,
            K::Money => Self::Money,
            K::Choice => Self::Choice,
            K::MultiChoice => Self::MultiChoice,
            K::YesNo => Self::YesNo,
            K::DateTime => Self::DateTime,
            K::Date => Self::Date,
            K::Duration => Self::Duration,
            K::Photo => Self::Photo,
            K::Signature => Self::Signature,
            K::Location => Self::Location,
            K::Rating => Self::Rating,
            K::List => Self::List,
        }
    }
}

/// Why the phone gave no location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LocationUnavailable {
    /// The location permission was refused.
    PermissionDenied,
    /// Permission granted, but no fix came.
    NoFix,
}

impl From<LocationUnavailable> for CoreUnavailable {
    fn from(l: LocationUnavailable) -> Self {
        match l {
            LocationUnavailable::PermissionDenied => Self::PermissionDenied,
            LocationUnavailable::NoFix => Self::NoFix,
        }
    }
}

/// One option of a choice.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ChoiceOption {
    pub id: String,
    pub label: LocalizedText,
}

/// Show the field only while `field` holds one of `any_of`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VisibleWhen {
    pub field: String,
    pub any_of: Vec<String>,
}

/// A value a shell collected for one field.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum FieldValue {
    /// Anything typed or chosen: text, a number, yuan, an option id, yes/no, a time.
    Text { text: String },
    /// A drawn signature.
    Strokes { strokes: Vec<SignatureStroke> },
    /// The phone's location fix.
    Fix { fix: Location },
    /// No location, and why: recorded as such.
    NoLocation { reason: LocationUnavailable },
}

/// A field's name and value (repeat the name per chosen option of a multi-choice).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FormValue {
    pub name: String,
    pub value: FieldValue,
}

/// One row of a list's starting values.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FormRow {
    pub values: Vec<FormValue>,
}

/// A field of a list row (`quote.lines[i].qty`): named relative to the row.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FormItemField {
    pub name: String,
    pub kind: FieldKind,
    pub required: bool,
    pub label: LocalizedText,
    pub help: Option<LocalizedText>,
    pub default: Option<String>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub options: Vec<ChoiceOption>,
}

/// One field of a form.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FormField {
    /// Dotted name (`amount`, `receipt.number`, `window.start`).
    pub name: String,
    pub kind: FieldKind,
    /// Required while visible.
    pub required: bool,
    pub label: LocalizedText,
    pub help: Option<LocalizedText>,
    /// The starting value, as it would be typed (money as yuan: `168.00`).
    pub default: Option<String>,
    /// A starting value worded for the reader (the sign-off's consent text):
    /// start the field with the text in the user's language; `default` is
    /// its zh-CN text.
    pub default_text: Option<LocalizedText>,
    /// Integer/duration/rating bounds, money in fen, text length.
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub options: Vec<ChoiceOption>,
    pub visible_when: Option<VisibleWhen>,
    /// Shown, not edited (the consent text; the shown digest the shell sets).
    pub read_only: bool,
    /// The fields of one row of a list.
    pub item_fields: Vec<FormItemField>,
    /// The rows a list starts with.
    pub default_items: Vec<FormRow>,
}

/// The form of one action the visit offers now.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ActionForm {
    /// The command's name (what `submit_action` takes).
    pub action: String,
    /// The step of the standard (`diagnose`, `payment`...), if any.
    pub step: Option<String>,
    pub label: LocalizedText,
    pub help: Option<LocalizedText>,
    /// The standard requires this before the visit can move on.
    pub required: bool,
    pub fields: Vec<FormField>,
}

/// One refused field of a submitted form.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FormProblem {
    /// The field's dotted name, as in the form (`amount`, `quote.lines[1].qty`).
    pub field: String,
    pub en: String,
    pub zh: String,
}

impl From<core::ChoiceOption> for ChoiceOption {
    fn from(o: core::ChoiceOption) -> Self {
        Self {
            id: o.id,
            label: o.label.into(),
        }
    }
}

impl From<core::FormValue> for FormValue {
    fn from(v: core::FormValue) -> Self {
        let value = match v.value {
            core::FieldValue::Text(text) => FieldValue::Text { text },
            core::FieldValue::Strokes(s) => FieldValue::Strokes {
                strokes: s.into_iter().map(SignatureStroke::from).collect(),
            },
            core::FieldValue::Location(f) => FieldValue::Fix {
                fix: Location {
                    lat: f.point.lat,
                    lon: f.point.lon,
                    accuracy_m: f.accuracy_m,
                },
            },
            core::FieldValue::NoLocation(r) => FieldValue::NoLocation {
                reason: match r {
                    CoreUnavailable::PermissionDenied => LocationUnavailable::PermissionDenied,
                    CoreUnavailable::NoFix => LocationUnavailable::NoFix,
                },
            },
        };
        Self {
            name: v.name,
            value,
        }
    }
}

impl From<FormValue> for core::FormValue {
    fn from(v: FormValue) -> Self {
        let value = match v.value {
            FieldValue::Text { text } => core::FieldValue::Text(text),
            FieldValue::Strokes { strokes } => {
                core::FieldValue::Strokes(strokes.into_iter().map(Stroke::from).collect())
            }
            FieldValue::Fix { fix } => core::FieldValue::Location(fix.into()),
            FieldValue::NoLocation { reason } => core::FieldValue::NoLocation(reason.into()),
        };
        Self {
            name: v.name,
            value,
        }
    }
}

impl From<core::FormField> for FormItemField {
    fn from(f: core::FormField) -> Self {
        Self {
            name: f.name,
            kind: f.kind.into(),
            required: f.required,
            label: f.label.into(),
            help: f.help.map(Into::into),
            default: f.default,
            min: f.min,
            max: f.max,
            options: f.options.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<core::FormField> for FormField {
    fn from(f: core::FormField) -> Self {
        Self {
            name: f.name,
            kind: f.kind.into(),
            required: f.required,
            label: f.label.into(),
            help: f.help.map(Into::into),
            default: f.default,
            default_text: f.default_text.map(Into::into),
            min: f.min,
            max: f.max,
            options: f.options.into_iter().map(Into::into).collect(),
            visible_when: f.visible_when.map(|v| VisibleWhen {
                field: v.field,
                any_of: v.any_of,
            }),
            read_only: f.read_only,
            item_fields: f.item_fields.into_iter().map(Into::into).collect(),
            default_items: f
                .default_items
                .into_iter()
                .map(|row| FormRow {
                    values: row.into_iter().map(Into::into).collect(),
                })
                .collect(),
        }
    }
}

impl From<core::ActionForm> for ActionForm {
    fn from(f: core::ActionForm) -> Self {
        Self {
            action: f.action,
            step: f.step.map(|s| s.as_str().to_string()),
            label: f.label.into(),
            help: f.help.map(Into::into),
            required: f.required,
            fields: f.fields.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<FormError> for DoorstepError {
    fn from(e: FormError) -> Self {
        let text = e.text();
        Self::InvalidForm {
            code: "invalid_form".into(),
            action: e.action,
            problems: e
                .problems
                .into_iter()
                .map(|p| FormProblem {
                    field: p.field,
                    en: p.text.en,
                    zh: p.text.zh,
                })
                .collect(),
            en: text.en,
            zh: text.zh,
        }
    }
}

/// The values a shell collected, as the core takes them.
pub(crate) fn core_values(values: Vec<FormValue>) -> Vec<core::FormValue> {
    values.into_iter().map(Into::into).collect()
}
