package app.doorstep.ui

import androidx.compose.ui.test.assertTextContains
import androidx.compose.ui.test.hasText
import androidx.compose.ui.test.junit4.createComposeRule
import androidx.compose.ui.test.onNodeWithTag
import androidx.compose.ui.test.performClick
import androidx.compose.ui.test.performTextReplacement
import app.doorstep.shell.Language
import app.doorstep.ui.desktop.desktopCodeEnroller
import app.doorstep.ui.desktop.desktopEnroller
import app.doorstep.ui.desktop.desktopServices
import org.junit.AfterClass
import org.junit.Assert.assertTrue
import org.junit.BeforeClass
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import java.time.Clock
import java.time.Instant
import java.time.temporal.ChronoUnit

/**
 * The screens against the real native library and a real doorstep-server
 * started on an ephemeral port: enrol through the enrolment screen, sync
 * the day in, open the visit and see its customer. Screenshots in zh-CN/en.
 */
class ServerUiTest {
    companion object {
        private lateinit var server: TestServer
        private val base get() = server.base
        private const val ADMIN_PASSWORD = TestServer.ADMIN_PASSWORD

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

        fun call(method: String, path: String, body: String?) = server.call(method, path, body)

        fun field(json: String, name: String) = TestServer.field(json, name)
    }

    @get:Rule
    val rule = createComposeRule()

    @get:Rule
    val tmp = TemporaryFolder()

    @Test
    fun enrol_sync_and_open_todays_visit_through_the_screens() {
        call("POST", "/api/technicians", """{"id": "T-90", "name": "王强", "trades": ["appliance_repair"]}""")
        val start = Instant.now().plus(1, ChronoUnit.HOURS).truncatedTo(ChronoUnit.MINUTES)
        val id = field(
            call(
                "POST", "/api/assignments",
                """{"trade": "appliance_repair",
                    "customer": {"name": "李华", "phone": "138 0013 8000", "address": "上海市浦东新区世纪大道88号1201室",
                                 "location": {"lat": 31.2304, "lon": 121.4737}},
                    "product": {"model": "海尔 BCD-470", "purchase_date": "2023-05-01", "warranty": "out_of_warranty"},
                    "fault_description": "冰箱不制冷",
                    "requested_window": {"start": "$start", "end": "${start.plus(2, ChronoUnit.HOURS)}"}}""",
            ),
            "id",
        )
        call("POST", "/api/assignments/$id/assign", """{"technician": "T-90"}""")

        val clock = Clock.systemUTC()
        val app = TechnicianAppState(
            EnrolmentStateHolder(desktopEnroller(tmp.newFolder("phone"), clock)),
            backend = null, services = desktopServices(), clock = clock,
        )
        rule.setContent { TechnicianApp(app) }

        // A wrong password: the core's Chinese refusal on the enrolment screen, nothing enrolled.
        rule.onNodeWithTag("enrol:server_url").performTextReplacement(base)
        rule.onNodeWithTag("enrol:dispatcher").performTextReplacement("admin")
        rule.onNodeWithTag("enrol:password").performTextReplacement("wrong")
        rule.onNodeWithTag("enrol:device_id").performTextReplacement("phone-90")
        rule.onNodeWithTag("enrol:technician_id").performTextReplacement("T-90")
        rule.onNodeWithTag("enrol").performClick()
        rule.waitUntil(20_000) { app.enrolment.state.refusal != null }
        assertTrue(app.backend == null)
        rule.onNodeWithTag("enrol-refusal", useUnmergedTree = true).assertExists()

        rule.onNodeWithTag("enrol:password").performTextReplacement(ADMIN_PASSWORD)
        rule.onNodeWithTag("enrol").performClick()
        rule.waitUntil(20_000) { app.backend != null }

        rule.onNodeWithTag("sync").performClick()
        rule.waitUntil(30_000) { app.today?.rows?.isNotEmpty() == true && app.today?.syncing == false }
        rule.onNodeWithTag("visit:$id").performClick()
        rule.waitForIdle()
        rule.onNode(hasText("李华"), useUnmergedTree = true).assertExists()
        rule.onNode(hasText("上海市浦东新区世纪大道88号1201室"), useUnmergedTree = true).assertExists()
        rule.onNodeWithTag("stage", useUnmergedTree = true).assertTextContains("待确认", substring = true)

        for (lang in Language.entries) {
            if (app.language != lang) app.switchLanguage()
            val state = app.visit?.state ?: error("the visit is open")
            val laid = ScreenCheck.render("10-server-visit", lang) { VisitScreen(state, app.services, {}, {}) }
            ScreenCheck.assertReadable("server visit", lang, laid)
        }
    }

    /**
     * The console's "new phone" QR code: the phone enrols by pasting its link,
     * with no staff password; the server names the device and the technician,
     * and the phone syncs. The same code a second time is refused on screen.
     */
    @Test
    fun enrol_with_the_centers_one_time_code_through_the_screens() {
        call("POST", "/api/technicians", """{"id": "T-91", "name": "赵敏", "trades": ["appliance_repair"]}""")
        val made = call("POST", "/api/technicians/T-91/enrolment-codes", """{"device_id": "phone-91", "server": "$base"}""")
        val link = field(made, "enrol_uri")
        val clock = Clock.systemUTC()
        val app = TechnicianAppState(
            EnrolmentStateHolder(
                desktopEnroller(tmp.newFolder("phone"), clock),
                codeEnroller = desktopCodeEnroller(tmp.newFolder("phone-by-code"), clock),
            ),
            backend = null, services = desktopServices(), clock = clock,
        )
        rule.setContent { TechnicianApp(app) }
        rule.onNodeWithTag("enrol-mode").performClick()
        rule.onNodeWithTag("enrol:code").performTextReplacement(link)
        rule.onNodeWithTag("enrol").performClick()
        rule.waitUntil(20_000) { app.backend != null }
        rule.onNodeWithTag("sync").performClick()
        rule.waitUntil(30_000) { app.today?.syncing == false }
        val devices = call("GET", "/api/devices", null)
        assertTrue(devices, Regex("\"device_id\":\"phone-91\"[^}]*\"last_sync_at\":\"").containsMatchIn(devices))
        // The code enrolled the phone with its device key (version 2): its sign-offs are verified.
        assertTrue(devices, Regex("\"device_id\":\"phone-91\"[^}]*\"enrolment_version\":2").containsMatchIn(devices))

        // Used once: another phone pasting the same link is refused, and told why.
        val again = EnrolmentStateHolder(
            desktopEnroller(tmp.newFolder("second"), clock),
            codeEnroller = desktopCodeEnroller(tmp.newFolder("second-by-code"), clock),
        )
        again.switchMode()
        again.edit(EnrolmentField.CODE, link)
        assertTrue(again.enrol() == null)
        assertTrue("${again.state.refusal}", again.state.refusal?.zh?.contains("注册码") == true)
    }
}
