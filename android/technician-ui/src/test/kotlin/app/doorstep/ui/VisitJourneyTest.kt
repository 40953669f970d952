package app.doorstep.ui

import androidx.compose.ui.test.assertTextContains
import androidx.compose.ui.test.junit4.createComposeRule
import androidx.compose.ui.test.onNodeWithTag
import androidx.compose.ui.test.performClick
import androidx.compose.ui.test.performScrollTo
import androidx.compose.ui.test.performTextReplacement
import app.doorstep.core.VisitStage
import app.doorstep.shell.Language
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.verticalScroll
import androidx.compose.ui.unit.dp
import app.doorstep.ui.desktop.SkiaWatermarker
import app.doorstep.ui.desktop.decoded
import app.doorstep.ui.desktop.desktopEnroller
import org.junit.AfterClass
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.BeforeClass
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import java.time.Clock
import java.time.Instant
import java.time.temporal.ChronoUnit

/**
 * Whole visits through the Compose screens against the real native library
 * and a real doorstep-server: every form is the core's, filled through its
 * composables; a screenshot of every step in zh-CN and en, checked for
 * overflow, codes and English in Chinese.
 */
class VisitJourneyTest {
    companion object {
        /** The screenshots' height: one phone screen (360 × 800 dp). */
        private const val PHONE_HEIGHT_DP = 800
        private lateinit var server: TestServer

        @JvmStatic
        @BeforeClass
        fun startServer() {
            server = TestServer.start()
        }

        @JvmStatic
        @AfterClass
        fun stopServer() {
            if (this::server.isInitialized) server.close()
        }
    }

    @get:Rule
    val rule = createComposeRule()

    @get:Rule
    val tmp = TemporaryFolder()

    private val clock = Clock.systemUTC()
    private val filler by lazy { FormFiller(rule, scoped = true) }
    private lateinit var app: TechnicianAppState
    private var shot = 0

    /** Creates and assigns an assignment for [tech] in [trade]; returns its id. */
    private fun assignment(tech: String, trade: String, body: String): String {
        server.call("POST", "/api/technicians", """{"id": "$tech", "name": "王强", "trades": ["$trade"]}""")
        val start = Instant.now().plus(30, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.MINUTES)
        val window = """"requested_window": {"start": "$start", "end": "${start.plus(2, ChronoUnit.HOURS)}"}"""
        val id = TestServer.field(server.call("POST", "/api/assignments", """{"trade": "$trade", $body, $window}"""), "id")
        server.call("POST", "/api/assignments/$id/assign", """{"technician": "$tech"}""")
        return id
    }

    /** Enrols through the enrolment screen, syncs the day in and opens [id]; the phone is at [site]. */
    private fun openVisit(tech: String, id: String, site: LocationReading.Fix) {
        app = TechnicianAppState(
            EnrolmentStateHolder(desktopEnroller(tmp.newFolder("phone"), clock)),
            backend = null, services = PlatformServices({ site }, {}, { _, _ -> }, camera = camera, watermarker = watermarker), clock = clock,
        )
        rule.setContent { TechnicianApp(app) }
        rule.onNodeWithTag("enrol:server_url").performTextReplacement(server.base)
        rule.onNodeWithTag("enrol:dispatcher").performTextReplacement("admin")
        rule.onNodeWithTag("enrol:password").performTextReplacement(TestServer.ADMIN_PASSWORD)
        rule.onNodeWithTag("enrol:device_id").performTextReplacement("phone-$tech")
        rule.onNodeWithTag("enrol:technician_id").performTextReplacement(tech)
        rule.onNodeWithTag("enrol").performClick()
        rule.waitUntil(30_000) { app.backend != null }
        sync()
        rule.onNodeWithTag("visit:$id").performClick()
        rule.waitForIdle()
    }

    private fun sync() {
        rule.onNodeWithTag("sync").performClick()
        rule.waitUntil(30_000) { app.today?.rows?.isNotEmpty() == true && app.today?.syncing == false }
    }

    private fun visit() = app.visit?.state ?: error("no visit open")

    private fun offered(action: String): FormState? = visit().forms.firstOrNull { it.spec.action == action }

    /** Fills [action]'s form through the screen with [given] (the rest: defaults and plain values) and submits it. */
    private fun step(action: String, given: Map<String, String> = emptyMap(), expectRefused: Boolean = false): FormState {
        val form = offered(action) ?: error("$action is not offered; the visit offers ${visit().forms.map { it.spec.action }} at ${visit().stage}")
        filler.fill(form, given)
        filler.submit(form)
        val refused = form.errors.isNotEmpty() || form.formError != null
        if (!expectRefused) {
            check(!refused) { "$action refused: ${form.errors.mapValues { it.value.zh }} ${form.formError?.zh}" }
        }
        screenshots(action)
        return form
    }

    /** The phone's camera: a 1440 × 1080 picture of a colour of its own for each moment. */
    private val camera = object : Camera {
        val taken = mutableListOf<String>()
        override fun take(moment: String): CapturedImage {
            taken += moment
            val surface = org.jetbrains.skia.Surface.makeRasterN32Premul(1440, 1080)
            surface.canvas.clear(0xFF000000.toInt() or (moment.hashCode() and 0xFFFFFF))
            val jpeg = surface.makeImageSnapshot().encodeToData(org.jetbrains.skia.EncodedImageFormat.JPEG, 90)!!
            return decoded(jpeg.bytes)
        }
    }

    /** Skia's watermark, each picture also saved beside the screenshots to be looked at. */
    private val watermarker = Watermarker { image, mark ->
        SkiaWatermarker().burn(image, mark).also { burned ->
            java.io.File("target/screenshots").mkdirs()
            val png = org.jetbrains.skia.Image.makeFromEncoded(burned.bytes).encodeToData(org.jetbrains.skia.EncodedImageFormat.PNG)!!
            java.io.File("target/screenshots/photo-${camera.taken.last()}.png").writeBytes(png.bytes)
        }
    }

    /** Takes the photo of [moment] with the camera button: watermarked, kept for upload and recorded by the core. */
    private fun photo(moment: String) {
        val waiting = app.backend!!.pendingPhotos()
        rule.onNodeWithTag("capture:$moment").performScrollTo().performClick()
        rule.waitUntil(30_000) { app.backend!!.pendingPhotos() == waiting + 1 && offered("take_photo")?.busy != true }
        rule.waitForIdle()
        assertEquals(moment, camera.taken.last())
        screenshots("take_photo")
    }

    /** The visit screen as it stands, in zh-CN and en at 360 dp: no overflow, no codes, no English in Chinese. */
    private fun screenshots(what: String) {
        val holder = app.visit ?: return
        val n = "%02d".format(++shot)
        for (lang in Language.entries) {
            holder.relabel(lang)
            val state = holder.state ?: continue
            val digest = state.forms.firstNotNullOfOrNull { it.preview?.digest?.short } ?: state.closed?.digest
            // A phone's screen of picture (the whole screen is still laid out, so every text is checked).
            val laid = ScreenCheck.render("journey-$n-$what", lang, heightDp = PHONE_HEIGHT_DP) { VisitScreen(state, app.services, {}, {}) }
            ScreenCheck.assertReadable("$what", lang, laid.filterNot { digest != null && it.text.contains(digest) })
            // The signing form on its own, as the customer reads it (the visit screen's picture is its top).
            state.forms.firstOrNull { it.spec.isSignOff }?.let { signing ->
                val form = ScreenCheck.render("journey-$n-$what-form", lang, heightDp = PHONE_HEIGHT_DP) {
                    androidx.compose.foundation.layout.Column(
                        androidx.compose.ui.Modifier.verticalScroll(androidx.compose.foundation.rememberScrollState()).padding(16.dp),
                    ) { ActionForm(signing, { LocationReading.NoFix }, {}) }
                }
                ScreenCheck.assertReadable("$what form", lang, form.filterNot { digest != null && it.text.contains(digest) })
            }
        }
        holder.relabel(app.language)
    }

    /**
     * STANDARDS §2.1 (接活): the technician checks the order before calling.
     * Each field the center left out or got wrong is named on the visit
     * screen with the core's reason, in Chinese in 中文 (the screen once showed
     * the stored English reason there) and by name, not code, in English.
     */
    @Test
    fun an_order_the_center_got_wrong_names_each_field_and_its_reason_in_each_language() {
        val id = assignment(
            "T-93", "appliance_repair",
            """"customer": {"name": "李明", "phone": "138 1762 5530", "address": "上海市浦东新区张杨路1588弄12号1502室",
                            "location": {"lat": 31.2216, "lon": 121.5441}, "time_zone": "Asia/Shanghai"},
               "product": {"purchase_date": "2099-04-18", "warranty": "out_of_warranty"},
               "fault_description": "冰箱冷藏室不制冷"""",
        )
        openVisit("T-93", id, LocationReading.Fix(31.2216, 121.5441, 8.0))
        val holder = app.visit ?: error("no visit open")
        holder.relabel(Language.ZH)
        assertEquals(listOf("产品型号：缺失", "购买日期：晚于报修受理日期"), visit().fieldIssues)
        holder.relabel(Language.EN)
        assertEquals(listOf("Product model: missing", "Purchase date: purchase date is after the request was received"), visit().fieldIssues)
        holder.relabel(app.language)
        screenshots("field-issues")
    }

    @Test
    fun appliance_repair_visit_from_enrolment_to_the_servers_verified_sign_off() {
        val site = LocationReading.Fix(31.2216, 121.5441, 0.0)
        val id = assignment(
            "T-91", "appliance_repair",
            """"customer": {"name": "李明", "phone": "138 1762 5530", "address": "上海市浦东新区张杨路1588弄12号1502室",
                            "location": {"lat": 31.2216, "lon": 121.5441}, "time_zone": "Asia/Shanghai"},
               "product": {"model": "海尔 BCD-470WDPG", "serial": "BH0C2F0470", "purchase_date": "2022-04-18", "warranty": "out_of_warranty"},
               "fault_description": "冰箱冷藏室不制冷"""",
        )
        openVisit("T-91", id, LocationReading.Fix(31.221825, 121.5441, 8.0))
        // The center masks the customer's number on the phone (no privacy-number provider here).
        assertTrue(visit().customer.phone == "138****5530" && visit().customer.product == "海尔 BCD-470WDPG")
        screenshots("opened")

        step("log_call", mapOf("outcome" to "reached"))
        step("confirm_appointment", mapOf("address_confirmed" to "yes", "product_confirmed" to "yes"))
        while (offered("check_kit_item")?.text("item")?.isNotBlank() == true) step("check_kit_item") // the core defaults the next unchecked item
        step("depart", mapOf("travel_minutes" to "25"))
        assertEquals(VisitStage.EN_ROUTE, visit().stage)
        step("arrive")
        offered("check_appearance")?.let { f -> step("check_appearance", mapOf("items" to f.spec.fields.single { it.name == "items" }.options.joinToString(",") { it.id })) }
        step("knock")
        step("door_answered")
        step("enter", mapOf("greeted" to "yes", "permit_shown" to "yes"))
        step("put_on_shoe_covers")
        offered("lay_drop_cloth")?.let { step("lay_drop_cloth") }
        val diagnosis = offered("record_diagnosis") ?: error("no diagnosis offered")
        val faultCode = diagnosis.spec.fields.single { it.name == "cause" }.options.first { it.id != "other" }.id
        step("record_diagnosis", mapOf("fault_reproduced" to "yes", "cause" to faultCode))
        photo("nameplate")
        photo("fault_before")
        offered("show_fee_schedule")?.let { step("show_fee_schedule") }
        step("present_quote")
        assertTrue("the quote shows in ¥", visit().quote?.customerTotal?.contains("¥") == true)
        step("accept_quote")
        step("record_work", mapOf("description" to "更换压缩机启动继电器"))
        photo("after_repair")
        step("record_test_run", mapOf("passed" to "yes"))
        offered("brief_customer")?.let { step("brief_customer") }
        step("clean_up", mapOf("product_restored" to "yes", "wiped" to "yes", "floor_cleaned" to "yes", "no_tool_left" to "yes"))
        step("collect_payment", mapOf("method" to "mobile", "receipt.kind" to "invoice", "receipt.number" to "FP-31-0042"))
        val signing = offered("sign_off") ?: error("no sign-off offered")
        filler.fill(signing, mapOf("ratings.quality" to "5", "ratings.attitude" to "4", "comment" to "师傅准时，讲解清楚"))
        rule.waitUntil(10_000) { signing.preview != null }
        // The customer reads the report before rating and signing: the core's lines, on screen.
        val report = signing.reportLines.associate { it.label.zh to it.value.zh }
        assertTrue("the signing screen reads out the work: $report", report["服务内容"]?.contains("更换压缩机启动继电器") == true)
        assertTrue("and what the customer pays: $report", report["客户应付"]?.startsWith("¥") == true)
        assertTrue("and the payment: $report", report["已付款"]?.contains("移动支付") == true)
        rule.onNodeWithTag("signoff-report", useUnmergedTree = true).assertExists()
        val shown = signing.preview!!.digest
        rule.onNodeWithTag("signoff-digest", useUnmergedTree = true).assertTextContains(shown.short, substring = true)
        assertEquals("the digest signed is the one shown", shown.full, signing.text(FormSpec.SHOWN_DIGEST))
        screenshots("signing")
        // The screenshots relabelled the forms: the form on screen now is a new state with the same entries.
        val signed = offered("sign_off") ?: error("no sign-off offered after the screenshots")
        assertEquals("the digest signed is still the one shown", shown.full, signed.text(FormSpec.SHOWN_DIGEST))
        filler.submit(signed)
        check(offered("sign_off") == null) { "sign_off refused: ${signed.errors.mapValues { it.value.zh }} ${signed.formError?.zh}" }
        step("leave", mapOf("service_card_given" to "yes", "shoe_covers_off_at_door" to "yes"))
        val closedOn = java.time.LocalDate.now(java.time.ZoneId.of(server.zone))
        assertEquals(VisitStage.CLOSED, visit().stage)
        assertTrue(visit().closed?.signed == true)

        rule.onNodeWithTag("back").performScrollTo().performClick() // the screen is scrolled down to the last form
        rule.waitUntil(10_000) { app.visit == null }
        sync()
        val visits = server.call("GET", "/api/visits?assignment_id=$id", null)
        assertTrue("the server's visit shows the verified sign-off: $visits", Regex("\"signoff\"\\s*:\\s*\"verified\"").containsMatchIn(visits))
        // Enrolment registered the phone's device key (the desktop's key file; a phone's keystore):
        // the sign-off it signed verifies against it at the center.
        val day = server.call("GET", "/api/reconciliation?date=$closedOn", null)
        val row = day.substring(day.indexOf("\"assignment_id\":\"$id\"").also { check(it >= 0) { "visit $id not reconciled on $closedOn: $day" } })
        val signature = Regex("\"device_signature\"\\s*:\\s*\"?(\\w+)").find(row)?.groupValues?.get(1)
        assertEquals("the device signature of the sign-off: $row", "verified", signature)
        // The camera's three pictures, watermarked on the phone, reached the server with the sync.
        val visitId = Regex("\"visit_id\"\\s*:\\s*\"([^\"]+)\"").find(visits)!!.groupValues[1]
        val photos = server.call("GET", "/api/visits/$visitId/photos", null)
        assertEquals("every photo's bytes reached the server: $photos", 3, Regex("\"uploaded\"\\s*:\\s*true").findAll(photos).count())
        assertEquals(listOf("nameplate", "fault_before", "after_repair"), camera.taken)
    }

    @Test
    fun water_delivery_refuses_the_wrong_amount_in_chinese_and_records_nothing() {
        val id = assignment(
            "T-92", "water_delivery",
            """"customer": {"name": "刘芳", "phone": "13601234567", "address": "北京市朝阳区朝阳门外大街18号3号楼602",
                            "location": {"lat": 39.9219, "lon": 116.4436}, "time_zone": "Asia/Shanghai"},
               "order": [{"item": "bottle_18_9l", "qty": 2}]""",
        )
        openVisit("T-92", id, LocationReading.Fix(39.922035, 116.4436, 8.0))
        step("log_call", mapOf("outcome" to "reached"))
        step("confirm_appointment", mapOf("address_confirmed" to "yes", "product_confirmed" to "yes"))
        while (offered("check_kit_item")?.text("item")?.isNotBlank() == true) step("check_kit_item") // the core defaults the next unchecked item
        step("depart", mapOf("travel_minutes" to "22"))
        step("arrive")
        offered("check_appearance")?.let { f -> step("check_appearance", mapOf("items" to f.spec.fields.single { it.name == "items" }.options.joinToString(",") { it.id })) }
        step("knock")
        step("door_answered")
        step("enter", mapOf("greeted" to "yes", "permit_shown" to "yes"))
        step("put_on_shoe_covers")
        step("inspect_item", mapOf("seal_intact" to "yes", "no_leaks" to "yes", "no_foreign_matter" to "yes"))
        photo("seal_intact")
        offered("show_fee_schedule")?.let { step("show_fee_schedule") }
        step("present_quote")
        step("accept_quote")
        step("record_work", mapOf("description" to "将桶装水装上饮水机并试出水", "kind" to "install"))
        photo("installed_bottle")
        step("clean_up", mapOf("product_restored" to "yes", "wiped" to "yes", "floor_cleaned" to "yes", "no_tool_left" to "yes"))

        val pendingBefore = app.backend!!.pendingUploads()
        val due = offered("collect_payment")!!.text("amount")
        val refused = step("collect_payment", mapOf("amount" to "1.00", "method" to "cash", "receipt.number" to "YJ-BJ-0086"), expectRefused = true)
        val zh = (refused.errors["amount"] ?: refused.formError)?.zh ?: error("the wrong amount was not refused")
        assertTrue("the refusal is the core's Chinese text: $zh", zh.contains("请按客户确认的报价收费"))
        rule.onNodeWithTag(FormTags.error(if (refused.errors.containsKey("amount")) "amount" else "collect_payment"), useUnmergedTree = true).assertExists()
        assertEquals("nothing recorded", pendingBefore, app.backend!!.pendingUploads())
        assertTrue("the payment is still offered", offered("collect_payment") != null)

        refused.set("amount", FieldInput.Text(due))
        filler.submit(refused)
        check(refused.formError == null && refused.errors.isEmpty()) { "the amount due was refused: ${refused.formError?.zh}" }
        screenshots("paid")
    }
}
