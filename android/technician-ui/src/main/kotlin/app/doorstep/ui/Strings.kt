//! The one string catalogue of the technician UI: every label the shell
//! itself shows (the core supplies stage names, actions, form fields and
//! refusals), in Simplified Chinese first and English.
package app.doorstep.ui

import androidx.compose.runtime.staticCompositionLocalOf
import app.doorstep.shell.Language

/** The shell's own texts in one language; pick with [UiStrings.of]. */
class UiStrings private constructor(val language: Language) {
    private fun t(zh: String, en: String) = if (language == Language.EN) en else zh

    // Enrolment
    val enrolTitle = t("登记这台手机", "Enrol this phone")
    val enrolHelp = t("交接时由调度员在手机上登录，服务器为这台手机签发凭证。", "At handover a dispatcher signs in on the phone; the server issues this phone's token.")
    val serverUrl = t("服务器地址", "Server address")
    val dispatcher = t("调度员账号", "Dispatcher account")
    val password = t("密码", "Password")
    val deviceId = t("设备编号", "Device id")
    val technicianId = t("技师编号", "Technician id")
    val enrol = t("登记", "Enrol")
    val enrolling = t("正在登记…", "Enrolling…")
    val enrolByCode = t("用注册码登记", "Enrol with a code")
    val enrolByDispatcher = t("由调度员登录登记", "Enrol with a dispatcher's sign-in")
    val enrolByCodeHelp = t(
        "扫描派单台「管理」页为这台手机生成的二维码，或输入注册码和服务器地址。注册码只能用一次，30 分钟内有效。",
        "Scan the QR code the console's Admin tab made for this phone, or type the code and the server address. A code works once, within 30 minutes.",
    )
    val enrolmentCode = t("注册码或二维码链接", "Code or QR link")
    fun missing(field: String) = t("请填写$field", "$field is required")

    // Today
    val todayTitle = t("今日工单", "Today's visits")
    val noVisits = t("今天没有工单。下拉或点击同步获取新工单。", "No visits today. Sync to fetch new ones.")
    val syncNow = t("立即同步", "Sync now")
    fun openCount(n: Int) = t("待完成 $n 单", "$n open")
    val conflict = t("中心已变更此工单", "Changed by the center")

    // Visit
    val back = t("返回", "Back")
    val customer = t("客户", "Customer")
    val phone = t("电话", "Phone")
    val address = t("地址", "Address")
    val product = t("产品", "Product")
    val fault = t("故障", "Fault")
    val window = t("预约时间", "Window")
    val call = t("拨打电话", "Call")
    val phoneMasked = t("号码已隐藏：隐私号绑定后即可拨打，急事请联系服务中心。", "Number hidden: you can call once the privacy number is bound; if urgent, call the center.")
    val openInMaps = t("地图导航", "Open in maps")
    val notGiven = t("未提供", "Not given")
    val stage = t("进度", "Stage")
    fun trip(n: Int) = t("第 $n 次上门", "Trip $n")
    val whatToSay = t("话术提示", "What to say")
    val nowDo = t("操作提示", "To do now")
    val nextSteps = t("下一步", "Next steps")
    val required = t("必做", "Required")
    val optional = t("可选", "Optional")
    val leaveBy = t("最晚出发", "Leave by")
    val nextKnock = t("下次敲门", "Next knock")
    val callCustomerAt = t("致电客户", "Call the customer")
    val absentAllowedAt = t("可报客户不在", "Absent allowed")
    val now = t("现在", "now")
    fun inMinutes(m: Long) = t("$m 分钟后", "in $m min")
    val closedTitle = t("工单已结束", "Visit closed")
    val outcome = t("结果", "Outcome")
    val callbacks = t("回访安排", "Callbacks")
    val noCallbacks = t("无需回访", "No callbacks")
    val signedOff = t("客户已签字确认", "Signed by the customer")
    val reportDigest = t("报告校验码", "Report digest")
    val quote = t("报价", "Quote")
    val customerPays = t("客户应付", "Customer pays")
    val warrantyCovers = t("保修承担", "Covered by warranty")
    val accepted = t("已确认", "Accepted")
    val fieldIssues = t("工单信息问题", "Order problems")

    // Forms
    val submit = t("提交", "Submit")
    val submitting = t("正在提交…", "Submitting…")
    val yes = t("是", "Yes")
    val no = t("否", "No")
    val clear = t("重写", "Clear")
    val signHere = t("请在此处签名", "Sign here")
    val getLocation = t("获取当前位置", "Get my location")
    val locationDenied = t("未获定位权限，将记录为“拒绝授权”", "Location permission refused; recorded as refused")
    val locationNoFix = t("无法定位，将记录为“无定位”", "No location fix; recorded as no fix")
    fun locationFix(lat: Double, lon: Double, acc: Double) =
        t("已定位：%.5f, %.5f（精度 %.0f 米）".format(lat, lon, acc), "Located: %.5f, %.5f (±%.0f m)".format(lat, lon, acc))
    val addItem = t("添加一项", "Add item")
    val removeItem = t("删除", "Remove")
    val yuanHint = t("金额（元）", "Amount (yuan)")
    val minutes = t("分钟", "min")
    val dateTimeHint = t("格式：2025-01-31 14:30", "Format: 2025-01-31 14:30")
    val dateHint = t("格式：2025-01-31", "Format: 2025-01-31")
    val photoHint = t("照片编号", "Photo reference")
    fun ratingOf(n: Int) = t("$n 星", "$n stars")
    val noRatingYet = t("请客户评分", "Ask the customer to rate")
    val signOffPreview = t("客户确认内容", "What the customer signs")
    val signOffReport = t("服务报告", "Service report")
    fun takePhotoOf(moment: String) = t("拍照：$moment", "Photograph: $moment")
    val previewAfterRatings = t("客户评分后显示报告校验码", "The report digest shows once the customer has rated")
    fun ratingsLine(quality: Int, attitude: Int) = t("服务质量 $quality 星，服务态度 $attitude 星", "Quality $quality stars, attitude $attitude stars")
    fun commentLine(comment: String) = t("客户意见：$comment", "Comment: $comment")
    fun reportDigestLine(short: String) = t("报告校验码：$short", "Report digest: $short")
    val fixErrors = t("请修改标红的内容", "Please fix the fields marked in red")

    // Pay by QR code
    val qrTitle = t("扫码收款", "Pay by QR code")
    val qrHelp = t(
        "请客户用微信或支付宝扫码付款，金额即应收金额。付款成功后自动记录，收据号为订单号。",
        "The customer scans with WeChat or Alipay and pays exactly the amount due. The payment is recorded when it is confirmed; the order number is the receipt number.",
    )
    fun qrWith(provider: String) = t("$provider 收款", "Pay with $provider")
    fun qrAmount(amount: String) = t("应收金额：$amount", "Amount due: $amount")
    fun qrOrder(no: String) = t("订单号：$no", "Order number: $no")
    val qrCancel = t("改用其他方式", "Use another way")
    val qrAgain = t("重新生成收款码", "Make a new code")
    val qrOfflineHint = t(
        "没有网络时无法扫码收款：可收现金，或选择“客户稍后付款”交服务中心跟进。",
        "Without a network there is no QR payment: take cash, or choose \"Customer pays later\" for the center to follow up.",
    )
    val qrCodeDescription = t("收款二维码", "Payment QR code")

    // Sync, language
    /** The label of the language switch: the other language, in itself. */
    val switchLanguage = t("English", "中文")
    val syncing = t("同步中…", "Syncing…")
    fun synced(sent: Long, received: Long) = t("已同步：上传 $sent 条，接收 $received 条", "Synced: $sent sent, $received received")

    companion object {
        private val zh = UiStrings(Language.ZH)
        private val en = UiStrings(Language.EN)
        fun of(language: Language): UiStrings = if (language == Language.EN) en else zh
    }
}

/** The strings of the language the app currently shows. */
val LocalStrings = staticCompositionLocalOf { UiStrings.of(Language.ZH) }
