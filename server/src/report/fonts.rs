//! Fonts for the PDF, found at run time: a CJK font installed on the machine
//! (Debian's `fonts-noto-cjk` gives Noto Sans CJK), searched under the font
//! directories (`/usr/share/fonts`, `/usr/local/share/fonts` by default,
//! `--report-font-dirs` to override). Nothing is bundled in the binary.
//! A found set is kept for the process; a missing font is looked for again
//! on the next request, so installing the package needs no restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use typst::foundations::Bytes;
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;

/// The directories searched when none is configured.
pub const DEFAULT_FONT_DIRS: [&str; 2] = ["/usr/share/fonts", "/usr/local/share/fonts"];

/// The fonts one PDF can use: their faces, the typst font book over them and
/// the families to ask for, Simplified Chinese first.
pub struct FontSet {
    pub book: LazyHash<FontBook>,
    pub fonts: Vec<Font>,
    pub families: Vec<String>,
    pub files: Vec<PathBuf>,
}

/// No CJK font was found under these directories.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no CJK font found under {searched:?}")]
pub struct FontMissing {
    pub searched: Vec<String>,
}

/// The font files under `dirs`, recursively.
fn font_files(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending: Vec<PathBuf> = dirs.to_vec();
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if has_font_extension(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn has_font_extension(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        matches!(
            e.to_ascii_lowercase().as_str(),
            "ttc" | "otc" | "otf" | "ttf"
        )
    })
}

/// How well a file name suggests a Chinese font (lower is better; `None`:
/// not a candidate). Noto Sans CJK first, then any CJK collection, then
/// other common Chinese fonts.
fn rank(path: &Path) -> Option<u8> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    if name.contains("sanscjk") || name.contains("sans cjk") {
        Some(0)
    } else if name.contains("cjk") {
        Some(1)
    } else if [
        "wqy",
        "droidsansfallback",
        "sourcehan",
        "notosanssc",
        "notoserifsc",
    ]
    .iter()
    .any(|k| name.contains(k))
    {
        Some(2)
    } else {
        None
    }
}

/// A regular or bold face file (lighter and heavier weights are not needed).
fn regular_or_bold(path: &Path) -> bool {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    stem.ends_with("-regular") || stem.ends_with("-bold")
}

/// Loads the best CJK font files under `dirs`.
pub fn load(dirs: &[PathBuf]) -> Result<FontSet, FontMissing> {
    let missing = || FontMissing {
        searched: dirs.iter().map(|d| d.display().to_string()).collect(),
    };
    let files = font_files(dirs);
    let best = files
        .iter()
        .filter_map(|f| rank(f))
        .min()
        .ok_or_else(missing)?;
    let mut chosen: Vec<PathBuf> = files
        .iter()
        .filter(|f| rank(f) == Some(best))
        .cloned()
        .collect();
    if chosen.iter().any(|f| regular_or_bold(f)) {
        chosen.retain(|f| regular_or_bold(f));
    }
    let mut fonts = Vec::new();
    for file in &chosen {
        if let Ok(data) = std::fs::read(file) {
            fonts.extend(Font::iter(Bytes::new(data)));
        }
    }
    // Families that draw Chinese, Simplified Chinese shapes first.
    let mut families: Vec<String> = Vec::new();
    for font in &fonts {
        let info = font.info();
        if info.coverage.contains('中' as u32) && !families.contains(&info.family) {
            families.push(info.family.clone());
        }
    }
    if families.is_empty() {
        return Err(missing());
    }
    families.sort_by_key(|f| {
        let f = f.to_ascii_lowercase();
        (!f.ends_with(" sc"), f.contains("mono"), f)
    });
    Ok(FontSet {
        book: LazyHash::new(FontBook::from_fonts(&fonts)),
        fonts,
        families,
        files: chosen,
    })
}

type Cache = Vec<(Vec<PathBuf>, Arc<FontSet>)>;
static CACHE: Mutex<Cache> = Mutex::new(Vec::new());

/// The CJK fonts under `dirs` (the defaults when empty), loaded once.
pub fn cjk_fonts(dirs: &[PathBuf]) -> Result<Arc<FontSet>, FontMissing> {
    let dirs: Vec<PathBuf> = if dirs.is_empty() {
        DEFAULT_FONT_DIRS.iter().map(PathBuf::from).collect()
    } else {
        dirs.to_vec()
    };
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, set)) = cache.iter().find(|(d, _)| *d == dirs) {
        return Ok(set.clone());
    }
    let set = Arc::new(load(&dirs)?);
    cache.push((dirs, set.clone()));
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noto_sans_cjk_ranks_before_other_chinese_fonts() {
        let r = |n: &str| rank(Path::new(n));
        assert_eq!(r("/f/NotoSansCJK-Regular.ttc"), Some(0));
        assert_eq!(r("/f/NotoSerifCJK-Bold.ttc"), Some(1));
        assert_eq!(r("/f/wqy-zenhei.ttc"), Some(2));
        assert_eq!(r("/f/DejaVuSans.ttf"), None);
    }

    #[test]
    fn a_directory_without_cjk_fonts_is_a_missing_font() {
        let dir = std::env::temp_dir().join(format!("doorstep-nofonts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = load(std::slice::from_ref(&dir))
            .err()
            .expect("no font there");
        assert_eq!(err.searched, vec![dir.display().to_string()]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
