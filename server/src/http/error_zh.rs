//! The Chinese side of the API's refusals, keyed by error code: when a
//! handler or the domain refused without a Chinese message of its own, the
//! body's `message_zh` (and `message`, for callers preferring Chinese — see
//! `edge`) comes from here, built from the code and the body's details
//! (`field`, `current_version`, …), never from the English text. Natural
//! Chinese with full-width punctuation.

use serde_json::{Map, Value};

/// The Chinese message of a refusal with `code` and `details`.
pub fn message(code: &str, details: &Map<String, Value>) -> String {
    let detail = |key: &str| details.get(key).map(plain).unwrap_or_default();
    match code {
        "invalid_field" | "invalid_query" => {
            let field = detail("field");
            let name = field_name(&field);
            if name.is_empty() {
                "请求中有一项取值无效：请检查后重新提交。".into()
            } else {
                format!("{name}：取值无效，请检查后重新提交。")
            }
        }
        "malformed_json" => "请求体不是有效的 JSON：请检查后重新发送。".into(),
        "bad_request" | "unreadable_body" => "请求无法读取：请检查后重新发送。".into(),
        "unauthorized" => "未登录或会话已失效：请重新登录。".into(),
        "forbidden" => "当前账号无权执行此操作。".into(),
        "not_found" => "要找的记录不存在：请刷新后再试。".into(),
        "version_mismatch" => match details.get("current_version") {
            Some(v) => format!(
                "工单已被他人修改（当前版本 {}）：请刷新后重新修改。",
                plain(v)
            ),
            None => "工单已被他人修改：请刷新后重新修改。".into(),
        },
        "cancelled" => "工单已取消，不能再修改：如需上门，请新建工单。".into(),
        "order_done" => "工单已完成，不能再更改。".into(),
        "already_waived" => "所选各项服务中心已确认免填，无需重复操作。".into(),
        "acceptance_code_not_used" => "该服务类型的服务标准不使用验收码，无需发放。".into(),
        "acceptance_code_accepted" => "客户的验收码已核验通过，无需重新发放。".into(),
        "already_assigned" => "工单已派出：请用“改派”换技师。".into(),
        "same_technician" => "工单已在这位技师名下：请选择另一位技师。".into(),
        "not_assigned" => "工单尚未派出：请先派单。".into(),
        "version_not_newer" => match details.get("newest_version") {
            Some(v) => format!(
                "该服务规范已有第 {} 版生效：请把版本号改为更大的数字后再发布。",
                plain(v)
            ),
            None => "该服务规范已有同样或更新的版本：请把版本号改为更大的数字后再发布。".into(),
        },
        "no_discount_secret" => "这位技师的手机注册于启用优惠验证码之前，无法核验离线验证码：请改为在线批准优惠，或重新注册手机。".into(),
        "not_qualified" => "这位技师不做该业务：请选择有该业务资质的技师。".into(),
        "inactive" => "这位技师已停用：请选择在岗技师。".into(),
        "no_conflict" => "这次上门没有待处理的冲突。".into(),
        "already_recorded" => "已经记录过了，无需重复提交。".into(),
        "exists" => "同名或同编号的记录已存在：请换一个。".into(),
        "own_account" => "不能对自己的账号执行此操作。".into(),
        "account_disabled" => "账号已停用：请联系管理员。".into(),
        "rate_limited" => "请求过于频繁：请稍后再试。".into(),
        "overloaded" => "服务器繁忙，本次请求未执行：请稍后重试。".into(),
        "timeout" => "请求未能及时送达：请重新发送。".into(),
        "too_large" => "请求体超过服务器上限：请减少内容后重试。".into(),
        "unsupported_media_type" => "请以 JSON 发送请求体。".into(),
        "method_not_allowed" => "该接口不接受此方法。".into(),
        "unsupported_protocol_version" => "应用版本过旧，服务器不再支持：请更新应用。".into(),
        "out_of_bounds" => "提交的内容超出长度或数量上限：请精简后重试。".into(),
        "sequence_gap" | "device_sequence_reused" => {
            "手机的同步序号有误：请在手机上重新同步。".into()
        }
        "unknown_blob" | "blob_digest_mismatch" | "upload_offset_mismatch" => {
            "照片上传未完成或已损坏：请在手机上重新同步。".into()
        }
        "no_signature" => "这次上门没有客户签名。".into(),
        "remittance_exceeds_outstanding" => format!(
            "金额：超过技师手中的现金，本次最多可记录 {}。",
            detail("outstanding_display")
        ),
        "invoice_requested" => "这个工单已有发票申请：只有上一次申请失败后才能重新申请。".into(),
        "report_not_ready" => "服务报告尚未生成：上门结束后才有报告。".into(),
        "report_font_missing" => "服务器缺少报告所需的中文字体：请联系管理员。".into(),
        "internal" => "服务器出错，请求未执行：请稍后重试。".into(),
        _ => "请求未能执行：请检查后重试，如仍不行请联系管理员。".into(),
    }
}

/// A detail value as plain text (strings without their quotes).
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// What a refused field is called in Chinese; the last segment of a path
/// (`customer.phone`, `events[3].event.visit_id`) names it. Empty for a
/// field without a name here (the message then says "one item").
pub fn field_name(path: &str) -> String {
    let last = path
        .rsplit('.')
        .next()
        .unwrap_or(path)
        .split('[')
        .next()
        .unwrap_or("");
    let name = match last {
        "name" => "姓名",
        "phone" => "电话",
        "address" => "地址",
        "location" => "位置",
        "customer" => "客户",
        "product" | "model" => "产品型号",
        "fault_description" => "故障描述",
        "requested_window" | "window" | "start" | "end" => "预约时间",
        "priority" => "优先级",
        "notes" | "note" => "备注",
        "content" => "受理内容",
        "answer" => "答复",
        "fields" => "免填项目",
        "request_id" => "技师的核实请求",
        "trade" | "trades" => "业务",
        "classification" => "类别",
        "reason" => "原因",
        "username" => "用户名",
        "password" => "密码",
        "role" => "角色",
        "month" => "月份",
        "date" => "日期",
        "from" | "until" | "to" => "时间范围",
        "amount" => "金额",
        "max_amount" => "优惠上限",
        "remitted_at" => "交款时间",
        "by" => "分组方式",
        "technician" | "technician_id" => "技师",
        "expected_version" => "版本",
        "status" => "状态",
        "satisfied" => "满意度",
        "decision" => "处理结果",
        "lang" => "语言",
        "q" => "搜索内容",
        "format" => "导出格式",
        "order" => "订购项目",
        "service_items" => "护理项目",
        "body" => "请求体",
        "protocol_version" => "协议版本",
        _ => "",
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn details(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn invalid_field_names_the_field_in_chinese() {
        let m = message(
            "invalid_field",
            &details(json!({"field": "customer.phone"})),
        );
        assert_eq!(m, "电话：取值无效，请检查后重新提交。");
    }

    #[test]
    fn version_mismatch_tells_the_current_version() {
        let m = message("version_mismatch", &details(json!({"current_version": 4})));
        assert!(m.contains("当前版本 4"), "{m}");
    }

    #[test]
    fn every_message_is_chinese_with_full_width_punctuation() {
        for code in [
            "invalid_field",
            "not_found",
            "version_mismatch",
            "cancelled",
            "order_done",
            "acceptance_code_not_used",
            "acceptance_code_accepted",
            "already_waived",
            "no_discount_secret",
            "version_not_newer",
            "not_qualified",
            "forbidden",
            "unauthorized",
            "internal",
            "some_future_code",
        ] {
            let m = message(code, &Map::new());
            assert!(m.ends_with('。'), "{code}: {m}");
            assert!(
                !m.contains([':', ';', '(', ')', ',', '?']),
                "{code}: ASCII punctuation in {m}"
            );
            assert!(
                !m.chars().any(|c| c.is_ascii_lowercase()),
                "{code}: English in {m}"
            );
        }
    }
}
