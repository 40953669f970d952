//! Languages and localized text: everything the core says to a technician or
//! a customer exists in Simplified Chinese and English.

use serde::{Deserialize, Serialize};

/// A display language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Lang {
    #[default]
    #[serde(rename = "zh-CN", alias = "zh")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

impl Lang {
    /// Parses a BCP 47 tag, falling back to Chinese for anything that is not English.
    pub fn from_tag(tag: &str) -> Lang {
        if tag.to_ascii_lowercase().starts_with("en") {
            Lang::En
        } else {
            Lang::ZhCn
        }
    }
}

/// One text in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub en: String,
    pub zh: String,
}

impl Text {
    pub fn new(en: impl Into<String>, zh: impl Into<String>) -> Self {
        Self {
            en: en.into(),
            zh: zh.into(),
        }
    }
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::ZhCn => &self.zh,
        }
    }
    /// Replaces `{name}` placeholders in both languages.
    pub fn fill(&self, vars: &[(&str, &str)]) -> Text {
        let sub = |s: &str| {
            let mut out = s.to_string();
            for (k, v) in vars {
                out = out.replace(&format!("{{{k}}}"), v);
            }
            out
        };
        Text {
            en: sub(&self.en),
            zh: sub(&self.zh),
        }
    }
}
