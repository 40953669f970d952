//! The report as the customer reads it on the signing screen, before
//! signing: the facts the signature binds ([`Report`]), one labelled line
//! each, in both languages — arrival, cause, work and parts, hidden faults,
//! the test run, the priced lines and the total, what was paid and how, the
//! photos. The shells show these lines beside the digest of exactly this
//! report, so the customer signs what they read.

use super::report::Report;
use crate::business_time::BusinessZone;
use crate::messages::{Lang, Text};
use crate::money::format_money;
use crate::playbook::Playbook;

/// One line of the report: what it is, and what the visit recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryLine {
    pub label: Text,
    pub value: Text,
}

fn line(label: Text, value: Text) -> SummaryLine {
    SummaryLine { label, value }
}

/// The same words in both languages (what the technician typed).
fn typed(value: &str) -> Text {
    Text::new(value, value)
}

/// The report's lines, in the order the report reads; facts not recorded
/// are left out.
pub fn summary(report: &Report, pb: &Playbook, zone: &BusinessZone) -> Vec<SummaryLine> {
    let mut out = vec![];
    if let Some(at) = report.arrived_at {
        out.push(line(
            Text::new("Arrived", "到达时间"),
            Text::new(
                zone.format_date_time(at, Lang::En),
                zone.format_date_time(at, Lang::ZhCn),
            ),
        ));
    }
    if let Some(cause) = &report.fault_cause {
        out.push(line(Text::new("Cause", "故障原因"), typed(cause)));
    }
    for work in &report.work {
        let kind = work.kind.label();
        out.push(line(
            Text::new("Work done", "服务内容"),
            Text::new(
                format!("{} ({})", work.description, kind.en),
                format!("{}（{}）", work.description, kind.zh),
            ),
        ));
        for part in &work.parts_used {
            let name = pb
                .fee(&part.item)
                .map_or_else(|| typed(&part.item), |f| f.name.clone());
            let serial = |old: &str, new: &str| match (&part.old_serial, &part.new_serial) {
                (Some(o), Some(n)) => format!("{old} {o} → {new} {n}"),
                (None, Some(n)) => format!("{new} {n}"),
                (Some(o), None) => format!("{old} {o}"),
                (None, None) => String::new(),
            };
            let (en, zh) = (serial("old", "new"), serial("旧", "新"));
            out.push(line(
                Text::new("Part replaced", "更换配件"),
                if en.is_empty() {
                    name
                } else {
                    Text::new(format!("{}: {en}", name.en), format!("{}：{zh}", name.zh))
                },
            ));
        }
    }
    if !report.hidden_faults.is_empty() {
        out.push(line(
            Text::new("Hidden faults found", "发现的隐患"),
            Text::new(
                report.hidden_faults.join("; "),
                report.hidden_faults.join("；"),
            ),
        ));
    }
    if let Some(passed) = report.test_passed {
        out.push(line(
            Text::new("Test run", "试机"),
            if passed {
                Text::new("Passed", "通过")
            } else {
                Text::new("Not passed", "未通过")
            },
        ));
    }
    if let Some(q) = &report.quote {
        let money = |minor: i64| format_money(minor, q.currency.as_str());
        for l in &q.lines {
            let name = pb
                .fee(&l.item)
                .map_or_else(|| typed(&l.item), |f| f.name.clone());
            let priced = format!("{} × {} = {}", money(l.unit_price), l.qty, money(l.amount));
            let value = if l.payer == crate::quote::Payer::Customer {
                typed(&priced)
            } else {
                let who = l.payer.label();
                Text::new(
                    format!("{priced} ({})", who.en),
                    format!("{priced}（{}）", who.zh),
                )
            };
            out.push(line(name, value));
        }
        let total = money(q.customer_total);
        out.push(line(
            Text::new("Customer pays", "客户应付"),
            if report.quote_accepted {
                Text::new(
                    format!("{total} (quote accepted)"),
                    format!("{total}（客户已确认报价）"),
                )
            } else {
                typed(&total)
            },
        ));
        if let Some(p) = &report.payment {
            let method = p.method.label();
            let receipt = p.receipt.text();
            let paid = money(report.paid_total);
            out.push(line(
                Text::new("Paid", "已付款"),
                Text::new(
                    format!("{paid} · {} · {}", method.en, receipt.en),
                    format!("{paid} · {} · {}", method.zh, receipt.zh),
                ),
            ));
        }
    }
    if let Some(photos) = &report.photos {
        let taken = photos.iter().filter(|p| p.digest.is_some()).count();
        let missing = photos.len() - taken;
        out.push(line(
            Text::new("Photos", "照片"),
            match missing {
                0 => Text::new(format!("{taken} taken"), format!("{taken} 张")),
                _ => Text::new(
                    format!("{taken} taken; {missing} not taken, with the reason"),
                    format!("{taken} 张；{missing} 张未拍（已注明原因）"),
                ),
            },
        ));
    }
    out
}
