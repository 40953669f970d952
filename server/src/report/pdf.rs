//! The report as a PDF, typeset by typst used as a library: the template
//! (`report.typ`, written here: typst's `@preview` packages are not
//! reachable) reads the language-resolved view as JSON, the signature and
//! QR code as SVG files and the photos as their stored bytes, all from an
//! in-memory world; fonts are the CJK fonts found at run time, embedded as
//! subsets by typst's PDF export.

use super::fonts::{cjk_fonts, FontMissing, FontSet};
use super::view::ReportView;
use serde_json::json;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::visualize::{ExchangeFormat, RasterImage};
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

/// The template, in typst markup.
const TEMPLATE: &str = include_str!("report.typ");

/// Why no PDF was made.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error(transparent)]
    FontMissing(#[from] FontMissing),
    /// typst refused the template or its data (a bug here, not the caller's).
    #[error("typesetting the report failed: {0}")]
    Typeset(String),
}

fn library() -> &'static LazyHash<Library> {
    static LIBRARY: OnceLock<LazyHash<Library>> = OnceLock::new();
    LIBRARY.get_or_init(|| LazyHash::new(Library::builder().build()))
}

fn file_id(path: &str) -> FileId {
    let vpath = VirtualPath::new(path).expect("a fixed, valid virtual path");
    RootedPath::new(VirtualRoot::Project, vpath).intern()
}

/// One report's in-memory world: the template, its data and the fonts.
struct ReportWorld {
    fonts: Arc<FontSet>,
    main: Source,
    files: Vec<(FileId, Bytes)>,
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        library()
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.fonts.book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::NotFound(PathBuf::from(format!("{id:?}"))))
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        self.files
            .iter()
            .find(|(f, _)| *f == id)
            .map(|(_, b)| b.clone())
            .ok_or_else(|| FileError::NotFound(PathBuf::from(format!("{id:?}"))))
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.fonts.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        None
    }
}

/// Whether `bytes` are a picture typst can place (JPEG, PNG, GIF or WebP
/// that decodes). Decoding is memoised by typst, so the compile that follows
/// reuses it instead of decoding again.
fn readable_picture(bytes: &Bytes) -> bool {
    ExchangeFormat::detect(bytes)
        .is_some_and(|format| RasterImage::plain(bytes.clone(), format).is_ok())
}

/// Typesets a report view into PDF bytes, with the CJK fonts under
/// `font_dirs` (the default font directories when empty). `photos` holds
/// the bytes of the view's photos in its order (None for one not on the
/// server); a photo whose bytes are not a readable picture is printed as a
/// note in its place rather than failing the report.
pub fn render_pdf(
    view: &ReportView,
    photos: &[Option<Vec<u8>>],
    font_dirs: &[PathBuf],
) -> Result<Vec<u8>, PdfError> {
    let fonts = cjk_fonts(font_dirs)?;
    let mut view = view.clone();
    let mut files = vec![];
    for (i, (photo, bytes)) in view.photos.iter_mut().zip(photos).enumerate() {
        let Some(bytes) = bytes else { continue };
        let bytes = Bytes::new(bytes.clone());
        if readable_picture(&bytes) {
            let path = format!("/photos/{i}");
            files.push((file_id(&path), bytes));
            photo.file = Some(path);
        }
    }
    let mut data = serde_json::to_value(&view).map_err(|e| PdfError::Typeset(e.to_string()))?;
    data["fonts"] = json!(fonts.families);
    files.push((
        file_id("/report.json"),
        Bytes::new(data.to_string().into_bytes()),
    ));
    if let Some(svg) = &view.signature.svg {
        files.push((
            file_id("/signature.svg"),
            Bytes::new(svg.clone().into_bytes()),
        ));
    }
    if let Some(svg) = &view.verification.qr_svg {
        files.push((file_id("/qr.svg"), Bytes::new(svg.clone().into_bytes())));
    }
    let world = ReportWorld {
        fonts,
        main: Source::new(file_id("/main.typ"), TEMPLATE.to_string()),
        files,
    };
    let compiled = typst::compile::<PagedDocument>(&world).output;
    // Keep typst's memo cache from growing with every report served.
    typst::comemo::evict(4);
    let document = compiled.map_err(|errors| {
        PdfError::Typeset(
            errors
                .iter()
                .map(|e| e.message.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    let options = typst_pdf::PdfOptions::default();
    typst_pdf::pdf(&document, &options).map_err(|errors| {
        PdfError::Typeset(
            errors
                .iter()
                .map(|e| e.message.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        )
    })
}
