//! A report laid out in one language: every label and value as the reader
//! sees it (amounts through `doorstep_core::money`, times in the business
//! offset), grouped in sections. The HTML page and the PDF template both
//! render this one view, so they say the same things.

use super::document::ReportDocument;
use super::qr::qr_svg;
use super::signature::signature_svg;
use super::verify::Verification;
use chrono::{DateTime, FixedOffset, Utc};
use doorstep_core::assignment::Warranty;
use doorstep_core::messages::{Lang, Text};
use doorstep_core::money::format_money;
use doorstep_core::quote::Payer;
use doorstep_core::signoff::REPORT_FORMAT;
use doorstep_core::workflow::command::{PaymentMethod, ReceiptRecord, RepairDecision, WorkKind};
use serde::Serialize;

/// One labelled value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowView {
    pub label: String,
    pub value: String,
}

/// A table: column headings and rows of cells.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableView {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// The column that takes the width left over (the PDF's tables span the page).
    pub wide_column: usize,
}

/// One section of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SectionView {
    /// Stable name (`customer`, `quote`, …) for styling and tests.
    pub id: &'static str,
    pub heading: String,
    pub table: Option<TableView>,
    pub rows: Vec<RowView>,
}

/// The signature block: the redrawn strokes, or the refusal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignatureView {
    pub heading: String,
    /// "Signed at …" or "Declined at …: reason".
    pub caption: String,
    pub declined: bool,
    /// The strokes as SVG (absent when declined or unsigned).
    #[serde(skip)]
    pub svg: Option<String>,
    pub has_image: bool,
}

/// One photo: its caption, and what the HTML page and the PDF need to show
/// the picture (or, when its bytes have not arrived, to say so).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhotoView {
    pub caption: String,
    pub digest: String,
    pub width: u32,
    pub height: u32,
    /// The bytes are on the server.
    pub stored: bool,
    /// The picture's file in the PDF's world (set by `pdf::render_pdf` for
    /// each picture it could read; none in the HTML page).
    pub file: Option<String>,
}

/// The verification block: status, digest and the QR code's target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerificationView {
    pub heading: String,
    pub code: &'static str,
    pub status: String,
    pub problem: Option<String>,
    pub digest_label: String,
    pub digest: Option<String>,
    pub url_label: String,
    pub url: Option<String>,
    #[serde(skip)]
    pub qr_svg: Option<String>,
    pub has_qr: bool,
}

/// A whole report in one language.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportView {
    /// `zh-CN` or `en`.
    pub lang: &'static str,
    pub title: String,
    pub company: String,
    pub service_line: Option<String>,
    /// The banner under the title: the verification status, and the
    /// declined mark when the customer refused to sign.
    pub banner: String,
    pub declined: bool,
    pub sections: Vec<SectionView>,
    pub signature: SignatureView,
    pub photos_heading: String,
    pub photos: Vec<PhotoView>,
    /// Shown in place of a photo whose bytes have not reached the server.
    pub photo_pending: String,
    /// Shown in place of a photo whose bytes are not a readable picture.
    pub photo_unreadable: String,
    pub verification: VerificationView,
    pub footer: String,
}

/// Picks the language's text.
fn say(lang: Lang, en: &str, zh: &str) -> String {
    match lang {
        Lang::En => en.to_string(),
        Lang::ZhCn => zh.to_string(),
    }
}

fn yes_no(lang: Lang, yes: bool) -> String {
    if yes {
        say(lang, "yes", "是")
    } else {
        say(lang, "no", "否")
    }
}

fn work_kind(lang: Lang, kind: WorkKind) -> String {
    kind.label().get(lang).to_string()
}

fn payment_method(lang: Lang, method: PaymentMethod) -> String {
    method.label().get(lang).to_string()
}

fn receipt(lang: Lang, r: &ReceiptRecord) -> String {
    r.text().get(lang).to_string()
}

fn payer(lang: Lang, p: Payer) -> String {
    p.label().get(lang).to_string()
}

fn warranty(lang: Lang, w: Warranty) -> String {
    match w {
        Warranty::InWarranty => say(lang, "In warranty", "保修期内"),
        Warranty::OutOfWarranty => say(lang, "Out of warranty", "已过保修期"),
        Warranty::Unknown => say(lang, "Unknown", "未知"),
    }
}

fn decision(lang: Lang, d: RepairDecision) -> String {
    d.label().get(lang).to_string()
}

/// Rows whose value is empty are left out.
fn rows(pairs: Vec<(String, Option<String>)>) -> Vec<RowView> {
    pairs
        .into_iter()
        .filter_map(|(label, value)| {
            value
                .filter(|v| !v.trim().is_empty())
                .map(|value| RowView { label, value })
        })
        .collect()
}

impl ReportDocument {
    /// The report in `lang`, times shown at `offset` from UTC.
    pub fn view(&self, lang: Lang, offset: FixedOffset) -> ReportView {
        let s = &self.state;
        let l = |en: &str, zh: &str| say(lang, en, zh);
        let text = |t: &Text| t.get(lang).to_string();
        let when = |t: DateTime<Utc>| {
            t.with_timezone(&offset)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        };
        // "passed (20:05)", "通过（20:05）": Chinese takes full-width brackets.
        let aside = |text: String, note: String| match lang {
            Lang::En => format!("{text} ({note})"),
            Lang::ZhCn => format!("{text}（{note}）"),
        };
        let playbook = self.playbook();
        let assignment = s.assignment.as_ref();
        let customer = assignment.map(|a| &a.customer);
        let product = assignment.map(|a| &a.product);
        let currency = s
            .quote
            .as_ref()
            .map(|q| q.currency.as_str().to_string())
            .or_else(|| playbook.map(|p| p.currency.as_str().to_string()))
            .unwrap_or_else(|| "CNY".to_string());
        let money = |minor: i64| format_money(minor, &currency);
        let fee_name = |id: &str| {
            playbook
                .and_then(|p| p.fee(id))
                .map_or_else(|| id.to_string(), |f| text(&f.name))
        };
        let mut sections = Vec::new();

        sections.push(SectionView {
            id: "work_order",
            heading: l("Work order", "工单"),
            table: None,
            rows: rows(vec![
                (
                    l("Work order", "工单号"),
                    assignment.map(|a| a.id.to_string()),
                ),
                (l("Visit", "上门编号"), Some(self.visit_id.clone())),
                (l("Service", "服务类型"), playbook.map(|p| text(&p.name))),
                (
                    l("Service standard", "服务规范"),
                    s.playbook_version.map(|v| match lang {
                        Lang::En => format!("version {v}"),
                        Lang::ZhCn => format!("第 {v} 版"),
                    }),
                ),
                (
                    l("Technician", "技师"),
                    Some(
                        self.technician_name
                            .clone()
                            .unwrap_or_else(|| self.technician_id.clone()),
                    ),
                ),
                (
                    l("Arrived", "到达时间"),
                    s.arrival.as_ref().map(|a| when(a.at)),
                ),
                (l("Closed", "结束时间"), s.closed_at.map(when)),
                (l("Outcome", "结果"), s.outcome.map(|o| text(&o.label()))),
            ]),
        });

        sections.push(SectionView {
            id: "customer",
            heading: l("Customer and product", "客户与产品"),
            table: None,
            rows: rows(vec![
                (l("Customer", "客户"), customer.and_then(|c| c.name.clone())),
                (l("Phone", "电话"), customer.and_then(|c| c.phone.clone())),
                (
                    l("Address", "地址"),
                    customer.and_then(|c| c.address.clone()),
                ),
                (
                    l("Product", "产品型号"),
                    product.and_then(|p| p.model.clone()),
                ),
                (
                    l("Serial number", "序列号"),
                    product.and_then(|p| p.serial.clone()),
                ),
                (
                    l("Purchased", "购买日期"),
                    product.and_then(|p| p.purchase_date).map(|d| d.to_string()),
                ),
                (
                    l("Warranty", "保修"),
                    product.map(|p| warranty(lang, p.warranty)),
                ),
            ]),
        });

        let cause = s.diagnosis.as_ref().map(|d| {
            playbook
                .and_then(|p| p.fault_codes.iter().find(|f| f.id == d.cause))
                .map_or_else(|| d.cause.clone(), |f| text(&f.name))
        });
        sections.push(SectionView {
            id: "diagnosis",
            heading: l("Fault and diagnosis", "故障与诊断"),
            table: None,
            rows: rows(vec![
                (
                    l("Reported fault", "报修故障"),
                    assignment.and_then(|a| a.fault_description.clone()),
                ),
                (l("Cause found", "故障原因"), cause),
                (
                    l("Fault reproduced", "故障复现"),
                    s.diagnosis
                        .as_ref()
                        .map(|d| yes_no(lang, d.fault_reproduced)),
                ),
                (
                    l("Decision", "处理方式"),
                    s.diagnosis.as_ref().map(|d| decision(lang, d.decision)),
                ),
                (
                    l("Other faults found", "其他发现的故障"),
                    Some(s.hidden_faults.join("; ")),
                ),
            ]),
        });

        sections.push(SectionView {
            id: "work",
            heading: l("Work done", "维修内容"),
            table: (!s.work.is_empty()).then(|| TableView {
                columns: vec![l("Time", "时间"), l("Kind", "类型"), l("Work", "内容")],
                rows: s
                    .work
                    .iter()
                    .map(|w| vec![when(w.at), work_kind(lang, w.kind), w.description.clone()])
                    .collect(),
                wide_column: 2,
            }),
            rows: if s.work.is_empty() {
                rows(vec![(
                    l("Work done", "维修内容"),
                    Some(l("none recorded", "无记录")),
                )])
            } else {
                Vec::new()
            },
        });

        let parts: Vec<Vec<String>> = s
            .work
            .iter()
            .flat_map(|w| w.parts_used.iter())
            .map(|p| {
                vec![
                    fee_name(&p.item),
                    p.old_serial.clone().unwrap_or_else(|| "—".into()),
                    p.new_serial.clone().unwrap_or_else(|| "—".into()),
                ]
            })
            .collect();
        if !parts.is_empty() {
            sections.push(SectionView {
                id: "parts",
                heading: l("Parts replaced", "更换配件"),
                table: Some(TableView {
                    columns: vec![
                        l("Part", "配件"),
                        l("Old serial", "旧件序列号"),
                        l("New serial", "新件序列号"),
                    ],
                    rows: parts,
                    wide_column: 0,
                }),
                rows: Vec::new(),
            });
        }

        if let Some(q) = &s.quote {
            let mut totals = vec![
                (
                    l("Customer total", "客户应付合计"),
                    Some(money(q.customer_total)),
                ),
                (
                    l("Covered by warranty", "保修承担"),
                    (q.covered_total != 0).then(|| money(q.covered_total)),
                ),
                (
                    l("Deposit", "押金"),
                    (q.deposit_total != 0).then(|| money(q.deposit_total)),
                ),
                (
                    l("Discount", "优惠"),
                    q.discount.as_ref().map(|d| money(d.amount)),
                ),
            ];
            totals.push((
                l("Accepted by the customer", "客户已确认"),
                Some(yes_no(lang, s.accepted_revision == Some(q.revision))),
            ));
            sections.push(SectionView {
                id: "quote",
                heading: l("Charges", "收费明细"),
                table: Some(TableView {
                    columns: vec![
                        l("Item", "项目"),
                        l("Qty", "数量"),
                        l("Unit price", "单价"),
                        l("Amount", "金额"),
                        l("Paid by", "付款方"),
                    ],
                    rows: q
                        .lines
                        .iter()
                        .map(|line| {
                            vec![
                                fee_name(&line.item),
                                line.qty.to_string(),
                                money(line.unit_price),
                                money(line.amount),
                                payer(lang, line.payer),
                            ]
                        })
                        .collect(),
                    wide_column: 0,
                }),
                rows: rows(totals),
            });
        }

        sections.push(SectionView {
            id: "payment",
            heading: l("Payment", "收款"),
            table: None,
            rows: match &s.payment {
                Some(p) => rows(vec![
                    (l("Collected", "实收"), Some(money(p.amount))),
                    (l("Method", "方式"), Some(payment_method(lang, p.method))),
                    (l("Receipt", "票据"), Some(receipt(lang, &p.receipt))),
                    (
                        l("Paid on this visit", "本次累计实收"),
                        Some(money(s.paid_total)),
                    ),
                    (
                        l("Still due", "仍欠"),
                        s.amount_due().filter(|d| *d != 0).map(money),
                    ),
                ]),
                None => rows(vec![(
                    l("Payment", "收款"),
                    Some(l("no payment", "未收款")),
                )]),
            },
        });

        sections.push(SectionView {
            id: "test_run",
            heading: l("Test run", "试机"),
            table: None,
            rows: rows(vec![(
                l("Result", "结果"),
                Some(match &s.test_run {
                    Some(t) if t.passed && !t.uncertain => aside(l("passed", "通过"), when(t.at)),
                    Some(t) if t.passed => aside(
                        l("passed, to be confirmed by a callback", "通过，待回访确认"),
                        when(t.at),
                    ),
                    Some(t) => aside(l("failed", "未通过"), when(t.at)),
                    None => l("no test run recorded", "无试机记录"),
                }),
            )]),
        });

        let signed = s.sign_off.as_ref();
        sections.push(SectionView {
            id: "ratings",
            heading: l("Customer ratings", "客户评价"),
            table: None,
            rows: match signed {
                Some(so) => rows(vec![
                    (
                        l("Quality", "服务质量"),
                        Some(format!("{} / 5", so.ratings.quality)),
                    ),
                    (
                        l("Attitude", "服务态度"),
                        Some(format!("{} / 5", so.ratings.attitude)),
                    ),
                    (l("Comment", "留言"), so.comment.clone()),
                ]),
                None => rows(vec![(
                    l("Ratings", "评价"),
                    Some(l("no ratings", "无评价")),
                )]),
            },
        });

        let declined = s.declined.is_some() && signed.is_none();
        let signature = SignatureView {
            heading: l("Customer signature", "客户签字"),
            caption: match (signed, &s.declined) {
                (Some(so), _) => format!(
                    "{} {}",
                    l("Signed at", "签字时间"),
                    when(so.evidence.signed_at)
                ),
                (None, Some(d)) => match lang {
                    Lang::En => format!(
                        "DECLINED: the customer declined to sign at {} ({})",
                        when(d.at),
                        d.reason
                    ),
                    Lang::ZhCn => format!(
                        "客户拒签：{} 客户拒绝签字（原因：{}）",
                        when(d.at),
                        d.reason
                    ),
                },
                (None, None) => l("Not signed", "未签字"),
            },
            declined,
            svg: signed.and_then(|_| signature_svg(&self.strokes)),
            has_image: false,
        };
        let signature = SignatureView {
            has_image: signature.svg.is_some(),
            ..signature
        };

        let verification = &self.verification;
        let qr = self.verify_url.as_deref().and_then(qr_svg);
        let verification_view = VerificationView {
            heading: l("Verification", "验证"),
            code: verification.code(),
            status: text(&verification.label()),
            problem: match verification {
                Verification::Broken { problem, .. } => Some(text(problem)),
                _ => None,
            },
            digest_label: l("Report digest (SHA-256)", "报告摘要（SHA-256）"),
            digest: verification.digest().map(str::to_string),
            url_label: l("Scan to verify this report", "扫码验证本报告"),
            url: self.verify_url.clone(),
            has_qr: qr.is_some(),
            qr_svg: qr,
        };

        ReportView {
            lang: match lang {
                Lang::En => "en",
                Lang::ZhCn => "zh-CN",
            },
            title: if declined {
                l("Service report — DECLINED", "上门服务报告（客户拒签）")
            } else {
                l("Service report", "上门服务报告")
            },
            company: text(&self.company),
            service_line: self
                .service_number
                .as_ref()
                .map(|n| format!("{} {n}", l("Service hotline", "服务热线"))),
            banner: verification_view.status.clone(),
            declined,
            sections,
            signature,
            photos_heading: l("Photos", "照片"),
            photos: self
                .photos
                .iter()
                .map(|p| PhotoView {
                    caption: format!(
                        "{} · {}",
                        l(&p.name.en, &p.name.zh),
                        &p.digest[..p.digest.len().min(8)]
                    ),
                    digest: p.digest.clone(),
                    width: p.width,
                    height: p.height,
                    stored: p.stored,
                    file: None,
                })
                .collect(),
            photo_pending: l(
                "Not uploaded yet: the technician's phone sends it at its next sync",
                "照片尚未上传：技师手机下次同步时上传",
            ),
            photo_unreadable: l("This photo cannot be shown", "此照片无法显示"),
            verification: verification_view,
            footer: match lang {
                Lang::En => format!(
                    "Report format {REPORT_FORMAT}. Times are UTC{offset}. This report is bound to the customer's signature by its digest: any later change to the record shows as broken on the verification page."
                ),
                Lang::ZhCn => format!(
                    "报告格式 {REPORT_FORMAT}。时间为 UTC{offset}。本报告以摘要与客户签字绑定：签字后记录的任何改动都会在验证页显示为验证失败。"
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::document::ReportPhoto;
    use doorstep_core::workflow::command::PartUsed;
    use doorstep_core::workflow::state::{Declined, WorkRecord};
    use doorstep_core::VisitState;

    fn cst() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    fn document(state: VisitState) -> ReportDocument {
        let playbook = state
            .assignment
            .as_ref()
            .and_then(|a| doorstep_core::Playbook::shipped_by_id(a.trade.as_str()));
        ReportDocument::build(
            "v-1",
            "T-1",
            &[],
            state,
            playbook,
            Some("安心家电"),
            "https://service.example",
        )
    }

    fn at() -> DateTime<Utc> {
        "2026-12-01T02:30:00Z".parse().unwrap()
    }

    /// The value of the row labelled `label` in the section `id`.
    fn row(view: &ReportView, id: &str, label: &str) -> String {
        view.sections
            .iter()
            .find(|s| s.id == id)
            .and_then(|s| s.rows.iter().find(|r| r.label == label))
            .map(|r| r.value.clone())
            .unwrap_or_else(|| panic!("no {label} in {id}"))
    }

    #[test]
    fn the_customer_reads_the_technicians_name_and_chinese_brackets() {
        let state = VisitState {
            test_run: Some(doorstep_core::workflow::state::TestRun {
                at: at(),
                passed: true,
                uncertain: false,
            }),
            playbook_version: Some(2),
            ..VisitState::default()
        };
        let mut doc = document(state);
        let section = doc.view(Lang::ZhCn, cst()).sections[0].id;
        assert_eq!(row(&doc.view(Lang::ZhCn, cst()), section, "技师"), "T-1");
        doc.technician_name = Some("王师傅".into());
        let zh = doc.view(Lang::ZhCn, cst());
        assert_eq!(row(&zh, section, "技师"), "王师傅");
        assert_eq!(row(&zh, "test_run", "结果"), "通过（2026-12-01 10:30）");
        assert_eq!(row(&zh, section, "服务规范"), "第 2 版");
        let en = doc.view(Lang::En, cst());
        assert_eq!(row(&en, "test_run", "Result"), "passed (2026-12-01 10:30)");
        assert_eq!(row(&en, section, "Service standard"), "version 2");
    }

    #[test]
    fn parts_show_their_old_and_new_serials() {
        let mut state = VisitState::default();
        state.work.push(WorkRecord {
            at: at(),
            description: "更换压缩机".into(),
            kind: WorkKind::Repair,
            parts_used: vec![PartUsed {
                item: "compressor".into(),
                old_serial: Some("OLD-1".into()),
                new_serial: Some("NEW-2".into()),
            }],
        });
        let view = document(state).view(Lang::ZhCn, cst());
        let parts = view
            .sections
            .iter()
            .find(|s| s.id == "parts")
            .expect("a parts section");
        assert_eq!(
            parts.table.as_ref().unwrap().rows,
            vec![vec![
                "compressor".to_string(),
                "OLD-1".into(),
                "NEW-2".into()
            ]]
        );
        let work = view.sections.iter().find(|s| s.id == "work").unwrap();
        assert_eq!(
            work.table.as_ref().unwrap().rows[0][0],
            "2026-12-01 10:30",
            "times at UTC+8"
        );
        assert_eq!(view.company, "安心家电");
    }

    #[test]
    fn a_visit_without_parts_has_no_parts_section() {
        let view = document(VisitState::default()).view(Lang::En, cst());
        assert!(view.sections.iter().all(|s| s.id != "parts"));
        assert!(view.photos.is_empty());
    }

    #[test]
    fn a_declined_report_is_titled_and_captioned_declined() {
        let state = VisitState {
            declined: Some(Declined {
                at: at(),
                report_version: 1,
                report_digest: "ab".repeat(32),
                reason: "赶时间".into(),
            }),
            ..VisitState::default()
        };
        let zh = document(state.clone()).view(Lang::ZhCn, cst());
        assert!(zh.declined && zh.title.contains("客户拒签"), "{}", zh.title);
        assert!(zh.signature.caption.contains("赶时间") && zh.signature.svg.is_none());
        assert_eq!(zh.verification.code, "declined");
        assert_eq!(
            zh.verification.digest.as_deref(),
            Some("ab".repeat(32).as_str())
        );
        let en = document(state).view(Lang::En, cst());
        assert_eq!(en.title, "Service report — DECLINED");
    }

    #[test]
    fn photos_of_the_visit_are_listed_with_their_moment() {
        let mut doc = document(VisitState::default());
        doc.photos.push(ReportPhoto {
            moment: "nameplate".into(),
            name: Text::new("Nameplate and serial number", "铭牌和序列号"),
            digest: "0123456789abcdef".into(),
            width: 1440,
            height: 1080,
            stored: true,
        });
        let view = doc.view(Lang::En, cst());
        assert_eq!(
            view.photos[0].caption,
            "Nameplate and serial number · 01234567"
        );
        // A visit without photos has no photos section (html.rs and the
        // template leave it out when the list is empty).
        let none = document(VisitState::default()).view(Lang::En, cst());
        assert!(none.photos.is_empty());
    }
}
