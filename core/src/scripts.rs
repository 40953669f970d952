//! Scripts (话术): the standard spoken lines a technician is shown at each
//! moment of a visit, in our own wording, with the company and technician
//! filled in. A playbook may override any moment.

use crate::messages::Text;
use crate::playbook::Playbook;
/// The moments are the playbook's vocabulary (its script overrides are keyed by them); re-exported here with their default wording.
pub use crate::playbook::ScriptMoment;

impl ScriptMoment {
    /// Our standard wording; placeholders: {company}, {technician}, {service_number}.
    pub fn default_text(self) -> Text {
        match self {
            Self::AppointmentCall => Text::new(
                "Hello, this is {technician} from {company}. I'm calling about your service request. Would the time window we have noted suit you? Let me also confirm your address and phone number. Thank you, goodbye.",
                "您好，我是{company}的服务工程师{technician}，关于您报修的事情给您来电。我们安排的上门时间您看方便吗？再跟您核对一下地址和联系电话。谢谢您，再见。",
            ),
            Self::RunningLate => Text::new(
                "Hello, this is {technician} from {company}. I'm sorry, I am running late for our appointment. Would you like me to continue, or shall we agree another time?",
                "您好，我是{company}的{technician}。非常抱歉，我可能要晚一些到达。您看是稍等我一下，还是我们重新约一个时间？",
            ),
            Self::AtTheDoor => Text::new(
                "Hello, I'm {technician} from {company}, here for your service appointment. This is my work permit. May I come in?",
                "您好，我是{company}的服务工程师{technician}，按约定来为您上门服务，这是我的上岗证。请问可以进来吗？",
            ),
            Self::BeforeMovingAnything => Text::new(
                "May I move this so I can reach the unit? I'll put it back afterwards.",
                "为了方便维修，我可以挪动一下这个吗？完成后我会放回原处。",
            ),
            Self::DecliningHospitality => Text::new(
                "Thank you very much, that's kind of you, but our company rules don't allow it.",
                "非常感谢您的好意，公司有规定，我们不能接受。",
            ),
            Self::CannotSolveNow => Text::new(
                "I'm sorry this can't be solved right now. Here is what happens next and when: we will contact you by the agreed time.",
                "很抱歉这个问题现在不能马上解决。接下来的安排是这样的，我们会在约定的时间内与您联系。",
            ),
            Self::TestWithCustomer => Text::new(
                "It's working now. Please try it yourself to check everything is as you expect.",
                "已经修好了，请您亲自试一下，看看是否一切正常。",
            ),
            Self::EndOfService => Text::new(
                "The service is complete. Is there anything else I can help you with?",
                "服务已经完成了，请问还有什么需要我帮忙的吗？",
            ),
            Self::Farewell => Text::new(
                "Thank you. If anything comes up, please call {company} on {service_number}. Goodbye.",
                "谢谢您。以后有任何问题，请拨打{company}服务电话{service_number}。再见。",
            ),
            Self::UpsetCustomer => Text::new(
                "I'm sorry for the trouble. Please tell me what happened — I'm listening, and I'd welcome your suggestions.",
                "非常抱歉给您带来不便。请您告诉我具体情况，我认真听，也欢迎您提出宝贵意见。",
            ),
            Self::ThreeGuarantees => Text::new(
                "Under the national three-guarantees rules (repair, replacement, refund), this repair is chargeable because the product is out of warranty. Here is the official fee schedule. I will ask the service center to contact you.",
                "根据国家三包规定（包修、包换、包退），您的产品已过保修期，本次维修需要收费，这是我们的收费标准。我会请服务中心与您联系。",
            ),
        }
    }
}

/// The line for `moment`, from the playbook's override or our default, filled in.
pub fn script(playbook: &Playbook, moment: ScriptMoment, technician: &str) -> Text {
    let base = playbook
        .scripts
        .get(&moment)
        .cloned()
        .unwrap_or_else(|| moment.default_text());
    let company_en = playbook.company.name.en.clone();
    let company_zh = playbook.company.name.zh.clone();
    let en = base.fill(&[
        ("company", &company_en),
        ("technician", technician),
        ("service_number", &playbook.company.service_number),
    ]);
    let zh = base.fill(&[
        ("company", &company_zh),
        ("technician", technician),
        ("service_number", &playbook.company.service_number),
    ]);
    Text {
        en: en.en,
        zh: zh.zh,
    }
}
