//! What an out-of-order command needs first, in words: the rules and the
//! command table name it in a short English key (`record the diagnosis`);
//! this table gives the sentence a technician reads, in zh-CN and en. A test
//! reads every key the rules and the table use and checks each has its words
//! here, so no refusal falls back to the key.

use crate::messages::Text;

/// The key of the refusal of a command whose step the visit has already
/// passed (arriving again after arriving, departing after departing).
pub const ALREADY_PAST: &str = "the visit is already past this step";

/// `(key, English sentence, Chinese sentence)`.
const NEEDS: &[(&str, &str, &str)] = &[
    (ALREADY_PAST, "The visit is already past this step", "该步骤已完成，服务已进入后续环节"),
    ("agree a new window with the customer or hand the assignment back to the center", "First agree a new time with the customer, or hand the assignment back to the center", "请先与客户改约时间，或将工单退回服务中心"),
    ("agree a time window with the customer", "First agree a time window with the customer", "请先与客户约定上门时间"),
    ("a chargeable quote the customer accepted, and no e-fapiao asked for yet", "An e-fapiao is asked for once, on a chargeable quote the customer accepted", "电子发票须在客户确认收费报价后申请，每次上门只申请一次"),
    ("an accepted quote", "First have the customer accept the quote", "请先请客户确认报价"),
    ("an amount due that is neither paid, refused nor already deferred", "Only an amount still due can be left for later: not one paid, refused or already left for later", "只有尚未收取的应收款才能改为稍后付款（已收、客户拒付或已改为稍后付款的不可再改）"),
    ("an apology for lateness is only recorded after a late arrival", "An apology for lateness is recorded only after a late arrival", "只有迟到时才需记录迟到致歉"),
    ("arrive", "First record your arrival", "请先记录到达"),
    ("clean up", "First clean up", "请先清洁整理现场"),
    ("collect the payment", "collect the payment", "收费"),
    ("confirm the appointment", "First confirm the appointment", "请先确认预约"),
    ("depart", "First record your departure", "请先记录出发"),
    ("depart for the customer", "First depart for the customer", "请先出发前往客户处"),
    ("do the appearance self-check", "First do the appearance self-check", "请先完成仪容仪表自检"),
    ("enter the customer's home", "First enter the customer's home", "请先进门"),
    ("entry exceptions apply before work starts", "Entry exceptions apply only before work starts", "进门异常只能在开始服务前记录"),
    ("hand back before departing", "An assignment is handed back only before departing", "只能在出发前退回工单"),
    ("inspect the goods", "First inspect the goods", "请先检查货品"),
    ("nothing is due: the accepted total is paid (an overpayment is refunded by the center)", "Nothing is due: the accepted total is paid (an overpayment is refunded by the center)", "费用已按确认的报价付清，无需再收（多收款项由服务中心退还）"),
    ("only a signed or declined report is reopened; this one can still change", "Only a signed or declined report is reopened; this one can still change", "只有已签字或客户拒签的报告才需重开；当前报告仍可修改"),
    ("present a quote", "First present a quote", "请先报价"),
    ("reach the customer by phone (log a reached call), or proceed unconfirmed after the retries", "First reach the customer by phone (log a reached call), or go at the promised time after the retries", "请先电话联系上客户（记录一次接通的电话），或多次联系不上后按承诺时间上门"),
    ("reach the customer by phone to give the guidance", "First reach the customer by phone to give the guidance", "请先电话联系上客户再进行指导"),
    ("receive the assignment", "First receive the assignment", "请先接收工单"),
    ("record a diagnosis that decides to take the unit back", "First record a diagnosis that decides to take the unit back", "请先记录决定拉修的诊断"),
    ("record a triage that finds the fault fixable by phone guidance", "First record a triage that finds the fault fixable by phone guidance", "请先记录可电话指导解决的故障分析"),
    ("record the diagnosis", "First record the diagnosis", "请先记录诊断"),
    ("record the repair work", "First record the repair work", "请先记录维修内容"),
    ("record the work", "record the work", "记录服务内容"),
    ("record the work (or reschedule, take the unit back, or record the refusal)", "First record the work (or reschedule, take the unit back, or record the refusal)", "请先记录服务内容（或改约、拉修、记录客户拒绝）"),
    ("reproduce the fault with the customer and record the diagnosis again", "First reproduce the fault with the customer and record the diagnosis again", "请先与客户一起复现故障，并重新记录诊断"),
    ("ring the bell or knock", "First ring the bell or knock", "请先按门铃或敲门"),
    ("the customer was reached: confirm the appointment instead", "The customer was reached: confirm the appointment instead", "已联系上客户：请直接确认预约"),
    ("the customer's sign-off", "First the customer's sign-off (or a recorded declined signature): the acceptance code comes after it", "请先请客户签字确认（或记录客户拒签），再输入验收码"),
    ("the customer's acceptance of the quote", "the customer's acceptance of the quote", "客户确认报价"),
    ("the diagnosis decided to take the unit back", "The diagnosis decided to take the unit back", "诊断结论为拉修"),
    ("the drop cloth was skipped at the kit check: record why there is none", "The drop cloth was skipped at the kit check: record why there is none instead", "出发前已跳过垫布：请记录未铺垫布的原因"),
    ("the door was answered: enter", "The door was answered: enter", "客户已开门：请进门"),
    ("the test run (or a 2-hour callback)", "the test run (or a 2-hour callback)", "试机（或安排2小时后回访）"),
    ("the test run failed: repair and test again (the 2-hour callback is for when there is no time to test)", "The test run failed: repair and test again (the 2-hour callback is for when there is no time to test)", "试机未通过：请继续维修并重新试机（2小时回访只用于来不及试机的情况）"),
    ("this trade resolves on site only", "This trade resolves on site only", "本行业只提供上门服务"),
    ("the clean-up", "the clean-up", "清洁整理"),
];

/// The words for a `needs` key; a key not in the table (which a test
/// forbids) is shown as given.
pub fn needs_text(key: &str) -> Text {
    match NEEDS.iter().find(|(k, _, _)| *k == key) {
        Some((_, en, zh)) => Text::new(*en, *zh),
        None => Text::new(key, key),
    }
}

/// Whether a key has its words in the table.
pub fn is_known(key: &str) -> bool {
    NEEDS.iter().any(|(k, _, _)| *k == key)
}

/// Every key the table words.
pub fn keys() -> impl Iterator<Item = &'static str> {
    NEEDS.iter().map(|(k, _, _)| *k)
}
