//! The report as one self-contained HTML page, sized for a phone (the
//! customer link) and printable (the console's HTML button): inline CSS
//! (allowed by the server's policy through its hash, [`style_source`]), the
//! signature and the QR code as inline SVG, every text escaped. Also the
//! short pages of the public verification and of a link that has expired.

use super::view::{ReportView, SectionView};
use std::fmt::Write;

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body{font-family:'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif;margin:0;background:#f4f5f7;color:#1d1d1f;line-height:1.5}
main{max-width:640px;margin:0 auto;background:#fff;padding:16px 16px 32px}
header{border-bottom:2px solid #1d1d1f;padding-bottom:8px;margin-bottom:10px}
header .company{font-size:1.1rem;font-weight:700}
header .hotline{color:#5f6368;font-size:.85rem}
h1{font-size:1.35rem;margin:.2rem 0}
h1.declined{color:#b71c1c}
h2{font-size:1rem;margin:1.1rem 0 .35rem;border-left:3px solid #1a73e8;padding-left:6px}
nav{display:flex;gap:12px;justify-content:flex-end;font-size:.9rem;margin-bottom:6px}
.banner{padding:8px 10px;border-radius:4px;font-weight:700;margin:8px 0}
.banner.verified{background:#e8f5e9;color:#1b5e20;border:1px solid #2e7d32}
.banner.broken,.banner.declined,.banner.unsigned{background:#fdecea;color:#b71c1c;border:1px solid #b71c1c}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 12px;margin:0}
dt{color:#5f6368}dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid #dadce0;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f1f3f4}
table+dl{margin-top:8px}
.signature{border:1px solid #dadce0;border-radius:4px;height:150px;display:flex;align-items:center;justify-content:center;background:#fff}
.signature svg{max-width:100%;max-height:140px;height:auto}
.signature .stamp{color:#b71c1c;font-size:1.6rem;font-weight:700}
.caption{color:#5f6368;font-size:.85rem}.caption.declined{color:#b71c1c}
.verify{display:flex;gap:12px;align-items:flex-start}
.verify .qr svg{width:120px;height:120px}
code{font-size:.8rem;overflow-wrap:anywhere;word-break:break-all}
.photos{display:grid;grid-template-columns:repeat(3,1fr);gap:6px}
.photos figure{margin:0}
.photos img{display:block;width:100%;height:auto;border-radius:3px;background:#f1f3f4}
.photos .pending{aspect-ratio:4/3;display:flex;align-items:center;justify-content:center;text-align:center;padding:4px;box-sizing:border-box;border:1px dashed #9aa0a6;border-radius:3px;color:#5f6368;font-size:.8rem}
.photos figcaption{font-size:.8rem;color:#5f6368;overflow-wrap:anywhere}
footer{color:#5f6368;font-size:.75rem;margin-top:18px}
@media print{body{background:#fff}main{max-width:none}nav{display:none}}
";

/// The page's inline style as a Content-Security-Policy source
/// (`'sha256-…'`): the server's policy allows it and no other inline style.
pub fn style_source() -> String {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE.as_bytes()))
    )
}

/// Links around the report: the other language, the PDF, re-verification.
#[derive(Debug, Clone, Default)]
pub struct PageLinks {
    /// (label, href) of the same page in the other language.
    pub other_language: Option<(String, String)>,
    /// (label, href) of the PDF.
    pub pdf: Option<(String, String)>,
    /// (label, href) of the verification page.
    pub verify: Option<(String, String)>,
    /// Each photo's `src`, in the order of the view's photos: the customer
    /// link's own `/r/{token}/photos/{digest}`, or a `data:` URI in the
    /// console's self-contained copy. None for a photo whose bytes have not
    /// arrived (or cannot be read), which shows as a note in its place.
    pub photo_src: Vec<Option<String>>,
}

fn section_html(out: &mut String, s: &SectionView) {
    let _ = write!(
        out,
        "<section id=\"{}\"><h2>{}</h2>",
        s.id,
        escape(&s.heading)
    );
    if let Some(t) = &s.table {
        out.push_str("<table><thead><tr>");
        for c in &t.columns {
            let _ = write!(out, "<th>{}</th>", escape(c));
        }
        out.push_str("</tr></thead><tbody>");
        for row in &t.rows {
            out.push_str("<tr>");
            for cell in row {
                let _ = write!(out, "<td>{}</td>", escape(cell));
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table>");
    }
    if !s.rows.is_empty() {
        out.push_str("<dl>");
        for r in &s.rows {
            let _ = write!(
                out,
                "<dt>{}</dt><dd>{}</dd>",
                escape(&r.label),
                escape(&r.value)
            );
        }
        out.push_str("</dl>");
    }
    out.push_str("</section>");
}

fn page(lang: &str, title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{}</title><style>{STYLE}</style></head>\
         <body><main>{body}</main></body></html>",
        escape(title)
    )
}

/// The whole report as an HTML page.
pub fn render_html(view: &ReportView, links: &PageLinks) -> String {
    let mut body = String::new();
    let nav: Vec<String> = [&links.other_language, &links.pdf, &links.verify]
        .into_iter()
        .flatten()
        .map(|(label, href)| format!("<a href=\"{}\">{}</a>", escape(href), escape(label)))
        .collect();
    if !nav.is_empty() {
        let _ = write!(body, "<nav>{}</nav>", nav.join(""));
    }
    let _ = write!(
        body,
        "<header><div class=\"company\">{}</div>{}<h1{}>{}</h1></header>",
        escape(&view.company),
        view.service_line
            .as_ref()
            .map(|s| format!("<div class=\"hotline\">{}</div>", escape(s)))
            .unwrap_or_default(),
        if view.declined {
            " class=\"declined\""
        } else {
            ""
        },
        escape(&view.title)
    );
    let _ = write!(
        body,
        "<div class=\"banner {}\" id=\"verification-status\">{}</div>",
        view.verification.code,
        escape(&view.banner)
    );
    for s in &view.sections {
        section_html(&mut body, s);
    }
    if !view.photos.is_empty() {
        let _ = write!(
            body,
            "<section id=\"photos\"><h2>{}</h2><div class=\"photos\">",
            escape(&view.photos_heading)
        );
        for (i, p) in view.photos.iter().enumerate() {
            body.push_str("<figure>");
            match links.photo_src.get(i).cloned().flatten() {
                Some(src) => {
                    let img = format!(
                        "<img src=\"{}\" alt=\"{}\" width=\"{}\" height=\"{}\" loading=\"lazy\">",
                        escape(&src),
                        escape(&p.caption),
                        p.width,
                        p.height
                    );
                    // A linked photo opens full size; an inline one (`data:`,
                    // which browsers do not open as a page) is shown as is.
                    if src.starts_with("data:") {
                        body.push_str(&img);
                    } else {
                        let _ = write!(body, "<a href=\"{}\">{img}</a>", escape(&src));
                    }
                }
                None => {
                    let _ = write!(
                        body,
                        "<div class=\"pending\">{}</div>",
                        escape(if p.stored {
                            &view.photo_unreadable
                        } else {
                            &view.photo_pending
                        })
                    );
                }
            }
            let _ = write!(
                body,
                "<figcaption>{}</figcaption></figure>",
                escape(&p.caption)
            );
        }
        body.push_str("</div></section>");
    }
    let sig = &view.signature;
    let _ = write!(
        body,
        "<section id=\"signature\"><h2>{}</h2><div class=\"signature\">{}</div><div class=\"caption{}\">{}</div></section>",
        escape(&sig.heading),
        match (&sig.svg, sig.declined) {
            (Some(svg), _) => svg.clone(),
            (None, true) => format!(
                "<span class=\"stamp\">{}</span>",
                if view.lang == "en" { "DECLINED" } else { "拒签" }
            ),
            (None, false) => String::new(),
        },
        if sig.declined { " declined" } else { "" },
        escape(&sig.caption)
    );
    let v = &view.verification;
    let _ = write!(
        body,
        "<section id=\"verification\"><h2>{}</h2><div class=\"verify\"><div class=\"qr\">{}</div><div>\
         <div>{}</div>{}<div class=\"caption\">{}</div><code id=\"report-digest\">{}</code></div></div></section>",
        escape(&v.heading),
        v.qr_svg.clone().unwrap_or_default(),
        escape(&v.status),
        v.problem
            .as_ref()
            .map(|p| format!("<div class=\"caption declined\">{}</div>", escape(p)))
            .unwrap_or_default(),
        escape(&v.digest_label),
        escape(v.digest.as_deref().unwrap_or("—"))
    );
    let _ = write!(body, "<footer>{}</footer>", escape(&view.footer));
    page(
        view.lang,
        &format!("{} · {}", view.title, view.company),
        &body,
    )
}

/// A short page: a heading and a paragraph (expired link, verification).
pub fn render_notice(lang: &str, title: &str, class: &str, lines: &[String]) -> String {
    let mut body = format!(
        "<header><h1>{}</h1></header><div class=\"banner {}\" id=\"verification-status\">{}</div>",
        escape(title),
        escape(class),
        escape(lines.first().map(String::as_str).unwrap_or_default())
    );
    for line in lines.iter().skip(1) {
        let _ = write!(body, "<p><code>{}</code></p>", escape(line));
    }
    page(lang, title, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_text_is_escaped() {
        assert_eq!(
            escape("<b>\"A&B\"</b>"),
            "&lt;b&gt;&quot;A&amp;B&quot;&lt;/b&gt;"
        );
    }
}
