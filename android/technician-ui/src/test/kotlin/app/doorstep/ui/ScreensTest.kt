package app.doorstep.ui

import app.doorstep.core.CommandResult
import app.doorstep.core.FieldKind
import app.doorstep.core.VisitListItem
import app.doorstep.core.VisitOutcome
import app.doorstep.core.VisitStage
import app.doorstep.core.Window
import app.doorstep.core.LocalizedText
import app.doorstep.shell.CoreResult
import app.doorstep.shell.Language
import org.junit.Assert.assertTrue
import org.junit.Test
import java.time.Clock
import java.time.Instant
import java.time.ZoneOffset

/** Every screen in zh-CN and en at 360 dp: screenshot written, nothing overflows, no English or codes in zh-CN. */
class ScreensTest {
    private val clock = Clock.fixed(UiFixtures.now, ZoneOffset.UTC)
    private val services = PlatformServices({ LocationReading.NoFix }, {}, { _, _ -> })

    private fun each(block: (Language) -> Unit) = Language.entries.forEach(block)

    @Test
    fun enrolment_screen_empty_and_refused() = each { lang ->
        val holder = EnrolmentStateHolder({ _, _, _, _, _ -> CoreResult.Failed("bad_credentials", "Wrong dispatcher password", "调度员密码错误", false) })
        ScreenCheck.assertReadable("enrol", lang, ScreenCheck.render("01-enrol", lang) { EnrolmentScreen(holder.state, holder::edit, {}) })
        holder.edit(EnrolmentField.SERVER_URL, "http://127.0.0.1:8080")
        holder.enrol()
        holder.edit(EnrolmentField.DISPATCHER, "dispatcher")
        EnrolmentField.entries.forEach { holder.edit(it, "x") }
        holder.enrol()
        val laid = ScreenCheck.render("02-enrol-refused", lang) { EnrolmentScreen(holder.state, holder::edit, {}) }
        ScreenCheck.assertReadable("enrol refused", lang, laid.filterNot { it.text == "x" })
        assertTrue(laid.any { it.text == if (lang == Language.EN) "Wrong dispatcher password" else "调度员密码错误" })
    }

    @Test
    fun enrolment_by_the_centers_one_time_code() = each { lang ->
        val holder = EnrolmentStateHolder(
            { _, _, _, _, _ -> error("the dispatcher's sign-in is not used") },
            codeEnroller = { _, _ -> CoreResult.Failed("enrol_refused", "This enrolment code is unknown, already used or expired", "注册码无效、已用过或已过期：请向服务中心索取新的注册码。", false) },
        )
        // The first screen of a phone that offers both ways (MainActivity's): the switch shows.
        val offered = ScreenCheck.render("01b-enrol-code-offered", lang) { EnrolmentScreen(holder.state, holder::edit, {}) }
        ScreenCheck.assertReadable("enrol, code offered", lang, offered)
        assertTrue(offered.any { it.text == if (lang == Language.EN) "Enrol with a code" else "用注册码登记" })
        holder.switchMode()
        assertTrue(holder.state.mode == EnrolmentMode.CODE)
        // A typed code needs the server; a scanned link names it.
        holder.edit(EnrolmentField.CODE, "K7QM-4XRT-9PWD")
        holder.edit(EnrolmentField.SERVER_URL, "")
        holder.enrol()
        assertTrue(holder.state.missing == setOf(EnrolmentField.SERVER_URL))
        holder.edit(EnrolmentField.CODE, "doorstep://enrol?server=https%3A%2F%2Fservice.example&code=K7QM-4XRT-9PWD")
        assertTrue(holder.state.fields == listOf(EnrolmentField.CODE) && holder.state.missing.isEmpty())
        holder.enrol()
        val laid = ScreenCheck.render("02b-enrol-by-code", lang) { EnrolmentScreen(holder.state, holder::edit, {}) }
        ScreenCheck.assertReadable("enrol by code", lang, laid.filterNot { it.text.startsWith("doorstep://") })
        assertTrue(laid.any { it.text == if (lang == Language.EN) "This enrolment code is unknown, already used or expired" else "注册码无效、已用过或已过期：请向服务中心索取新的注册码。" })
        assertTrue(laid.any { it.text == if (lang == Language.EN) "Enrol with a dispatcher's sign-in" else "由调度员登录登记" })
    }

    @Test
    fun today_list() = each { lang ->
        val w = Window(Instant.parse("2026-11-25T02:00:00Z"), Instant.parse("2026-11-25T04:00:00Z"))
        val visits = listOf(
            VisitListItem("V-1", "A-1001", "appliance_repair", VisitStage.SCHEDULED, null, w, false, false, "李华", "上海市浦东新区世纪大道88号1201室"),
            VisitListItem("V-2", "A-1002", "water_delivery", VisitStage.CLOSED, VisitOutcome.COMPLETED, w, true, false, "王芳", "上海市徐汇区漕溪北路18号"),
            VisitListItem("V-3", "A-1003", "appliance_repair", VisitStage.EN_ROUTE, null, w, false, true, "赵敏", null),
        )
        val state = TodayUiState.of(visits, lang, UiFixtures.times, null, false)
        ScreenCheck.assertReadable("today", lang, ScreenCheck.render("03-today", lang) { TodayScreen(state, {}, {}) })
    }

    @Test
    fun visit_with_every_field_kind_and_a_refusal() = each { lang ->
        val backend = FakeBackend(UiFixtures.visitScreen(VisitStage.ON_SITE), { listOf(UiFixtures.everyKind(it)) })
        backend.answer = { _, _ -> SubmitOutcome.Refused(mapOf("amount" to LocalizedText("Collect ¥168.00, the amount due", "应收金额为 ¥168.00")), null) }
        val holder = VisitStateHolder(backend, "A-1001", clock, UiFixtures.times).apply { refresh(lang) }
        holder.submit(holder.state!!.forms.single())
        val laid = ScreenCheck.render("04-visit-form", lang, heightDp = 3600) { VisitScreen(holder.state!!, services, {}, {}) }
        ScreenCheck.assertReadable("visit", lang, laid)
        assertTrue(laid.any { it.text == if (lang == Language.EN) "Collect ¥168.00, the amount due" else "应收金额为 ¥168.00" })
    }

    @Test
    fun photos_are_taken_with_a_button_per_moment_when_the_phone_has_a_camera() = each { lang ->
        fun l(zh: String, en: String) = if (lang == Language.EN) en else zh
        val takePhoto = FormSpec(
            action = FormSpec.TAKE_PHOTO, label = l("拍照留证", "Take a photo"), help = null, required = true,
            fields = listOf(
                FieldSpec(
                    "moment", FieldKind.CHOICE, true, l("拍照环节", "Moment"),
                    options = listOf(ChoiceSpec("nameplate", l("铭牌及序列号", "Nameplate and serial number")), ChoiceSpec("fault_before", l("维修前故障部位", "The fault before the repair"))),
                ),
                FieldSpec("digest", FieldKind.TEXT, true, l("照片摘要", "Photo digest")),
            ),
        )
        val backend = FakeBackend(UiFixtures.visitScreen(VisitStage.ON_SITE), { listOf(takePhoto) })
        val holder = VisitStateHolder(backend, "A-1001", clock, UiFixtures.times).apply { refresh(lang) }
        val laid = ScreenCheck.render("06-photo-capture", lang, heightDp = 2400) {
            VisitScreen(holder.state!!, services, {}, {}, onCapture = { _, _ -> })
        }
        ScreenCheck.assertReadable("photo capture", lang, laid)
        val button = l("拍照：铭牌及序列号", "Photograph: Nameplate and serial number")
        assertTrue("the moment's button: ${laid.map { it.text }}", laid.any { it.text == button })
        assertTrue("no digest to type with a camera", laid.none { it.text == l("照片摘要", "Photo digest") })
    }

    @Test
    fun acceptance_code_asked_after_the_sign_off_and_a_wrong_code_counted() = each { lang ->
        // The computer-repair example walked by the real core up to its acceptance code, then one wrong code.
        val steps = ExampleVisits.steps("computer_repair")
        val at = steps.indexOfFirst { it.type == "enter_acceptance_code" }
        app.doorstep.core.VisitSession("computer_repair", "acceptance-$lang", "王强").use { session ->
            steps.take(at).forEach { session.apply(it.command, it.at, it.location) }
            val now = steps[at].at
            session.apply("""{"type": "enter_acceptance_code", "code": "000000"}""", now, null)
            val backend = FakeBackend(session.screen(now), { l -> session.actionForms().map { FormSpec.of(it, l) } })
            val holder = VisitStateHolder(backend, "GD-20261201-0203", clock, UiFixtures.times).apply { refresh(lang) }
            val laid = ScreenCheck.render("07-acceptance-code", lang, heightDp = 1600) { VisitScreen(holder.state!!, services, {}, {}) }
            ScreenCheck.assertReadable("acceptance code", lang, laid)
            val wrong = if (lang == Language.EN) "That code is not the one issued for this order" else "验收码不正确"
            assertTrue("the core's wrong-code prompt: ${laid.map { it.text }}", laid.any { it.text.contains(wrong) })
            val field = if (lang == Language.EN) "Acceptance code" else "验收码"
            assertTrue("the code's field: ${laid.map { it.text }}", laid.any { it.text.removeSuffix(" *") == field })
        }
    }

    /**
     * The center's side of a QR payment as scripted answers (the server and
     * its providers are tested in the server's suite): one order, made, then
     * waiting with its code, then paid on the next ask.
     */
    private class ScriptedCenter(
        private val amountFen: Long,
        private val amountShown: String,
        private val recordInto: (app.doorstep.core.QrPayment) -> SubmitOutcome,
    ) : QrPayments {
        var asks = 0
        var made: String? = null
        private val t = UiFixtures::text
        private fun order(status: app.doorstep.core.QrPaymentStatus, text: LocalizedText, url: String?) = app.doorstep.core.QrPayment(
            "P-1", "A-1001", made!!, if (made == "alipay") t("支付宝", "Alipay") else t("微信支付", "WeChat Pay"),
            "DS20261201A1B2C3D4E5F6", amountFen, amountShown, status, text, url, null,
            UiFixtures.now.plusSeconds(900), if (status == app.doorstep.core.QrPaymentStatus.PAID) UiFixtures.now else null,
        )
        override fun providers() = app.doorstep.core.qrProviders()
        override fun create(assignmentId: String, provider: String): CoreResult<app.doorstep.core.QrPayment> {
            made = provider
            return CoreResult.Ok(order(app.doorstep.core.QrPaymentStatus.CREATING, t("正在生成收款码…", "Making the payment code…"), null))
        }
        override fun status(paymentId: String): CoreResult<app.doorstep.core.QrPayment> = CoreResult.Ok(
            if (asks++ == 0) {
                order(app.doorstep.core.QrPaymentStatus.AWAITING_PAYMENT, t("请客户扫码付款", "Ask the customer to scan and pay"), "weixin://wxpay/bizpayurl?pr=DS20261201A1")
            } else {
                order(app.doorstep.core.QrPaymentStatus.PAID, t("已付款", "Paid"), "weixin://wxpay/bizpayurl?pr=DS20261201A1")
            },
        )
        override fun record(payment: app.doorstep.core.QrPayment) = recordInto(payment)
    }

    @Test
    fun qr_payment_code_shown_until_paid_then_recorded_by_the_core() = each { lang ->
        // The appliance-repair example walked by the real core up to its payment.
        val steps = ExampleVisits.steps("appliance_repair")
        val at = steps.indexOfFirst { it.type == "collect_payment" }
        app.doorstep.core.VisitSession("appliance_repair", "qr-$lang", "王强").use { session ->
            steps.take(at).forEach { session.apply(it.command, it.at, it.location) }
            val now = steps[at].at
            val due = 14000L
            // The center words the amount as the core does (the scripted answer says it as given).
            val center = ScriptedCenter(due, "¥140.00") { paid ->
                // What DeviceStore.collectQrPayment records, decided by the core's payment rules.
                session.apply(
                    """{"type": "collect_payment", "amount": ${paid.amountFen}, "method": "mobile", "receipt": {"kind": "receipt", "number": "${paid.outTradeNo}"}, "qr": {"provider": "${paid.provider}", "out_trade_no": "${paid.outTradeNo}"}}""",
                    now,
                    null,
                )
                SubmitOutcome.Done(CommandResult(emptyList(), session.screen(now)))
            }
            val backend = object : TechnicianBackend by FakeBackend(session.screen(now), { l -> session.actionForms().map { FormSpec.of(it, l) } }) {
                override val qrPayments: QrPayments = center
                override fun screen(assignmentId: String) = CoreResult.Ok(session.screen(now))
            }
            val holder = VisitStateHolder(backend, "A-1001", clock, UiFixtures.times).apply { refresh(lang) }
            val buttons = holder.state!!.qr!!.providers.map { it.label }
            assertTrue(buttons.toString(), buttons == if (lang == Language.EN) listOf("WeChat Pay", "Alipay") else listOf("微信支付", "支付宝"))
            holder.startQrPayment("wechat_pay")
            holder.pollQrPayment()
            val waiting = holder.state!!.qr!!.payment!!
            assertTrue(waiting.toString(), waiting.status == app.doorstep.core.QrPaymentStatus.AWAITING_PAYMENT && waiting.codeUrl != null)
            val laid = ScreenCheck.render("08-qr-payment", lang, heightDp = 2600) { VisitScreen(holder.state!!, services, {}, {}) }
            ScreenCheck.assertReadable("qr payment", lang, laid.filterNot { it.text.contains("DS20261201") })
            val amount = if (lang == Language.EN) "WeChat Pay · Amount due: ¥140.00" else "微信支付 · 应收金额：¥140.00"
            assertTrue("the amount with the provider: ${laid.map { it.text }}", laid.any { it.text == amount })
            // The code encodes the provider's link.
            assertTrue(qrMatrix(waiting.codeUrl!!).width >= 21)

            // Paid: the payment is recorded with its order and the panel goes with the payment form.
            val facts = session.eventCount()
            holder.pollQrPayment()
            assertTrue("one payment fact", session.eventCount() == facts + 1u)
            assertTrue("no panel once paid", holder.state!!.qr == null)
            assertTrue("collect_payment no longer offered", holder.state!!.forms.none { it.spec.action == "collect_payment" })
        }
    }

    @Test
    fun closed_visit_with_callbacks() = each { lang ->
        val backend = FakeBackend(UiFixtures.visitScreen(VisitStage.CLOSED, VisitOutcome.FIXED), { emptyList() })
        val holder = VisitStateHolder(backend, "A-1001", clock, UiFixtures.times).apply { refresh(lang) }
        val laid = ScreenCheck.render("05-visit-closed", lang) { VisitScreen(holder.state!!, services, {}, {}) }
        ScreenCheck.assertReadable("closed", lang, laid.filterNot { it.text == "abababab" })
    }
}
