//! The signing screen's reading of the report (STANDARDS §2.16: the
//! customer signs what they were shown): every fact the signature binds,
//! one labelled line each, in both languages, from the report itself.

mod support;

use doorstep_core::business_time::BusinessZone;
use doorstep_core::workflow::report::Report;
use doorstep_core::workflow::report_summary::summary;
use doorstep_core::Lang;
use serde_json::json;
use support::Run;

fn lines(run: &Run, lang: Lang) -> Vec<(String, String)> {
    let report = Report::of(run.state(), None, None, "本人确认以上服务内容及金额。");
    summary(&report, run.playbook(), &BusinessZone::default())
        .into_iter()
        .map(|l| (l.label.get(lang).to_string(), l.value.get(lang).to_string()))
        .collect()
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(l, v)| (l.to_string(), v.to_string()))
        .collect()
}

#[test]
fn the_customer_reads_every_fact_they_sign_in_their_language() {
    let mut run = Run::new("appliance_repair");
    run.repaired_and_tested();
    run.ok(json!({"type": "report_hidden_fault", "description": "电源线老化"}));
    run.ok(json!({"type": "report_hidden_fault", "description": "门封条变形"}));
    // A hidden fault found after the test run calls for the test again.
    run.at("10:42");
    run.ok(json!({"type": "record_test_run", "passed": true}));
    run.at("10:45");
    run.ok(json!({"type": "brief_customer"}));
    run.ok(json!({"type": "clean_up", "product_restored": true, "wiped": true, "floor_cleaned": true, "no_tool_left": true}));
    run.at("10:50");
    run.ok(json!({"type": "collect_payment", "amount": 14500, "method": "cash", "receipt": {"kind": "receipt", "number": "R-2026-0042"}}));
    assert_eq!(
        lines(&run, Lang::ZhCn),
        owned(&[
            ("到达时间", "11月25日 17:50"),
            ("故障原因", "Start relay burnt out"),
            ("服务内容", "Replaced compressor start relay（维修）"),
            ("更换配件", "压缩机启动继电器：旧 R-OLD-1 → 新 R-NEW-9"),
            ("发现的隐患", "电源线老化；门封条变形"),
            ("试机", "通过"),
            ("上门费", "¥30.00 × 1 = ¥30.00"),
            ("一般维修工时", "¥50.00 × 1 = ¥50.00"),
            ("压缩机启动继电器", "¥65.00 × 1 = ¥65.00"),
            ("客户应付", "¥145.00（客户已确认报价）"),
            ("已付款", "¥145.00 · 现金 · 收据 R-2026-0042"),
            ("照片", "3 张"),
        ])
    );
    let en = lines(&run, Lang::En);
    assert_eq!(en[0], ("Arrived".into(), "2026-11-25 17:50".into()));
    assert_eq!(
        en[3],
        (
            "Part replaced".into(),
            "Compressor start relay: old R-OLD-1 → new R-NEW-9".into()
        )
    );
    assert_eq!(
        en[10],
        ("Paid".into(), "¥145.00 · Cash · Receipt R-2026-0042".into())
    );
}

#[test]
fn before_payment_the_customer_reads_the_quote_they_accepted_and_nothing_paid() {
    let mut run = Run::new("appliance_repair");
    run.quote_accepted();
    let zh = lines(&run, Lang::ZhCn);
    assert!(
        zh.contains(&("客户应付".into(), "¥145.00（客户已确认报价）".into())),
        "{zh:?}"
    );
    assert!(
        zh.iter().all(|(l, _)| l != "已付款" && l != "试机"),
        "{zh:?}"
    );
}
