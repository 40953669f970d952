package app.doorstep.ui

import app.doorstep.core.CustomerCard
import app.doorstep.core.FieldKind
import app.doorstep.core.LocalTimes
import app.doorstep.core.LocalizedText
import app.doorstep.core.Location
import app.doorstep.core.PromptItem
import app.doorstep.core.QuoteLineItem
import app.doorstep.core.QuoteSummary
import app.doorstep.core.CallbackItem
import app.doorstep.core.ReportDigest
import app.doorstep.core.VisitOutcome
import app.doorstep.core.VisitScreen
import app.doorstep.core.VisitStage
import app.doorstep.core.VisitTimers
import app.doorstep.core.Window
import app.doorstep.shell.Language
import java.time.Instant

/** Fixed states for screenshots of screens the end-to-end tests cannot reach cheaply. */
object UiFixtures {
    val now: Instant = Instant.parse("2026-11-25T01:40:00Z")
    val times: LocalTimes = LocalTimes.inDefaultZone()

    fun text(zh: String, en: String) = LocalizedText(en, zh)

    /** One field of every kind, as the core would describe them. */
    fun everyKind(lang: Language): FormSpec {
        fun l(zh: String, en: String) = if (lang == Language.EN) en else zh
        return FormSpec(
            action = "every_kind",
            label = l("所有字段", "Every field"),
            help = l("每种字段各一个", "One field of each kind"),
            required = true,
            fields = listOf(
                FieldSpec("note", FieldKind.TEXT, true, l("备注", "Note")),
                FieldSpec("description", FieldKind.LONG_TEXT, false, l("维修说明", "Work done")),
                FieldSpec("count", FieldKind.INTEGER, true, l("数量", "Count"), min = 1, max = 9),
                FieldSpec("amount", FieldKind.MONEY, true, l("收款金额", "Amount"), help = l("应收 ¥168.00", "Due ¥168.00"), default = "168.00"),
                FieldSpec(
                    "method", FieldKind.CHOICE, true, l("付款方式", "Method"),
                    options = listOf(ChoiceSpec("cash", l("现金", "Cash")), ChoiceSpec("mobile", l("移动支付", "Mobile payment"))),
                ),
                FieldSpec("receipt", FieldKind.TEXT, false, l("收据号", "Receipt number"), shownWhen = ShownWhen("method", listOf("cash"))),
                FieldSpec(
                    "cause", FieldKind.CHOICE, true, l("故障原因", "Cause"),
                    options = listOf("不制冷" to "Not cooling", "漏水" to "Leaking", "异响" to "Noise", "不通电" to "No power", "显示故障码" to "Error code")
                        .mapIndexed { i, (zh, en) -> ChoiceSpec("f$i", l(zh, en)) },
                ),
                FieldSpec(
                    "items", FieldKind.MULTI_CHOICE, false, l("仪容检查", "Appearance"),
                    options = listOf(ChoiceSpec("uniform", l("工装整洁", "Clean uniform")), ChoiceSpec("badge", l("佩戴工牌", "Badge on"))),
                ),
                FieldSpec("passed", FieldKind.YES_NO, true, l("试机通过", "Test run passed")),
                FieldSpec("at", FieldKind.DATE_TIME, false, l("改约时间", "New time")),
                FieldSpec("day", FieldKind.DATE, false, l("购买日期", "Purchase date")),
                FieldSpec("travel", FieldKind.DURATION, true, l("路程时间", "Travel time"), default = "30"),
                FieldSpec("photo", FieldKind.PHOTO, false, l("铭牌照片", "Nameplate photo")),
                FieldSpec("quality", FieldKind.RATING, true, l("服务质量评分", "Quality rating")),
                FieldSpec("signature", FieldKind.SIGNATURE, true, l("客户签名", "Customer signature")),
                FieldSpec("location", FieldKind.LOCATION, true, l("当前位置", "Location")),
                FieldSpec(
                    "parts_used", FieldKind.LIST, false, l("更换配件", "Parts used"),
                    itemFields = listOf(
                        FieldSpec("item", FieldKind.TEXT, true, l("配件", "Part")),
                        FieldSpec("new_serial", FieldKind.TEXT, false, l("新件序列号", "New serial")),
                    ),
                ),
            ),
        )
    }

    fun visitScreen(stage: VisitStage, outcome: VisitOutcome? = null) = VisitScreen(
        visitId = "V-1",
        assignmentId = "A-1001",
        trade = "appliance_repair",
        tradeName = text("家电维修", "Appliance repair"),
        stage = stage,
        outcome = outcome,
        trip = 1u,
        window = Window(Instant.parse("2026-11-25T02:00:00Z"), Instant.parse("2026-11-25T04:00:00Z")),
        customer = customer,
        conflict = null,
        fieldIssues = emptyList(),
        nextActions = emptyList(),
        prompts = listOf(
            PromptItem("script.at_the_door", text("您好，我是海尔售后的王师傅，今天上午为您上门维修冰箱。", "Hello, I am Wang from the service center, here to repair your fridge."), true),
            PromptItem("knock_protocol", text("有门铃先按门铃，否则轻敲3轮、每轮3下。", "Ring the bell if there is one, else 3 rounds of 3 light knocks."), false),
        ),
        checklist = emptyList(),
        appearance = emptyList(),
        quote = QuoteSummary(
            1u, "CNY", "out_of_warranty",
            listOf(QuoteLineItem("visit_fee", text("上门费", "Call-out fee"), "visit", 1u, 5000, 5000, "customer"), QuoteLineItem("part_compressor", text("压缩机", "Compressor"), "part", 1u, 11800, 11800, "customer")),
            0, 16800, 0, 0, stage == VisitStage.CLOSED,
        ),
        timers = VisitTimers(
            departBy = Instant.parse("2026-11-25T01:30:00Z"),
            leaveFrom = null,
            expectedTravelMinutes = null,
            nextKnockAt = Instant.parse("2026-11-25T02:05:00Z"),
            callCustomerAt = Instant.parse("2026-11-25T02:10:00Z"),
            absentAllowedAt = Instant.parse("2026-11-25T02:20:00Z"),
            callbacks = if (stage == VisitStage.CLOSED) listOf(CallbackItem("satisfaction", Instant.parse("2026-11-26T02:00:00Z"))) else emptyList(),
        ),
        reportDigest = if (stage == VisitStage.CLOSED) ReportDigest("ab".repeat(32), "abababab") else null,
        signed = stage == VisitStage.CLOSED,
    )

    val customer = CustomerCard(
        "李华", "138-0013-8000", "上海市浦东新区世纪大道88号1201室", Location(31.2304, 121.4737, 0.0), "Asia/Shanghai", "冰箱 BCD-470", "不制冷",
        Window(Instant.parse("2026-11-25T02:00:00Z"), Instant.parse("2026-11-25T04:00:00Z")),
    )
}
