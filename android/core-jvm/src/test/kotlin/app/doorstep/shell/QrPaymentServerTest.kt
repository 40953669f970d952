package app.doorstep.shell

import app.doorstep.core.DoorstepException
import app.doorstep.core.QrPayment
import app.doorstep.core.QrPaymentStatus
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.io.File
import java.net.ServerSocket
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Path
import java.time.Instant
import java.time.temporal.ChronoUnit
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.concurrent.thread

/**
 * Pay by QR at the door through the FFI, end to end: a real doorstep-server
 * set up for WeChat Pay against the providers' simulator (the server crate's
 * `provider-simulator` example, over HTTP, signing and encrypting as WeChat
 * Pay does). The phone walks a repair to the clean-up, asks its Syncer for
 * an order of what is due, draws nothing yet (the code link is checked),
 * cannot record it unpaid, sees it paid once the simulated customer pays,
 * records it, and the center's reconciliation finds the payment confirmed.
 */
class QrPaymentServerTest {
    companion object {
        private const val ADMIN_PASSWORD = "handover-secret-8"
        private val http: HttpClient = HttpClient.newHttpClient()
        private val output = CopyOnWriteArrayList<String>()
        private lateinit var simulator: Process
        private lateinit var simulatorUrl: String
        private lateinit var server: Process
        private lateinit var base: String
        private lateinit var admin: String

        /** Starts [command] and returns the first capture of [pattern] in its output (kept draining after). */
        private fun launch(command: ProcessBuilder, pattern: Regex): Pair<Process, String> {
            val process = command.redirectErrorStream(true).start()
            val lines = process.inputStream.bufferedReader()
            var found: String? = null
            while (found == null) {
                val line = lines.readLine() ?: error("${command.command()[0]} exited early:\n${output.joinToString("\n")}")
                output.add(line)
                found = pattern.find(line)?.groupValues?.get(1)
            }
            // Drained until the process ends (its stream closes then).
            thread(isDaemon = true) { runCatching { lines.forEachLine { output.add(it) } } }
            return process to found
        }

        @JvmStatic
        @BeforeAll
        fun start(@TempDir data: Path) {
            val bin = System.getProperty("doorstep.server.bin")
                ?: error("set -Ddoorstep.server.bin to the built doorstep-server (scripts/test-all does)")
            val sim = File(File(bin).parentFile, "examples/provider-simulator")
            check(sim.canExecute()) { "$sim is missing: cargo build -p doorstep-server --example provider-simulator" }
            val keys = File("../../server/test-keys").canonicalFile
            launch(ProcessBuilder(sim.path, "127.0.0.1:0"), Regex("^Provider simulator listening on (http://\\S+?)/$")).let {
                simulator = it.first
                simulatorUrl = it.second
            }
            // The server's own address goes into each order as its notify URL: a port known before it starts.
            val port = ServerSocket(0).use { it.localPort }
            val command = ProcessBuilder(
                bin, "--listen", "127.0.0.1:$port", "--data-dir", data.toString(),
                "--admin-user", "admin", "--admin-password", ADMIN_PASSWORD,
            )
            command.environment().putAll(
                mapOf(
                    "DOORSTEP_WECHAT_PAY_ENDPOINT" to simulatorUrl,
                    "DOORSTEP_WECHAT_PAY_MCHID" to "1900000001",
                    "DOORSTEP_WECHAT_PAY_APPID" to "wxd0000000000sim1",
                    "DOORSTEP_WECHAT_PAY_SERIAL_NO" to "MERCHANT-SERIAL-TEST",
                    "DOORSTEP_WECHAT_PAY_PRIVATE_KEY_FILE" to File(keys, "wechat-pay-merchant.pem").path,
                    "DOORSTEP_WECHAT_PAY_PUBLIC_KEY_FILE" to File(keys, "wechat-pay-platform.pub.pem").path,
                    "DOORSTEP_WECHAT_PAY_API_V3_KEY" to "doorstep-simulated-apiv3-key-32b",
                    "DOORSTEP_PAYMENT_NOTIFY_BASE_URL" to "http://127.0.0.1:$port",
                    "DOORSTEP_OUTBOX_POLL_MS" to "200",
                    "DOORSTEP_OUTBOX_RETRY_BASE_MS" to "200",
                ),
            )
            launch(command, Regex("listening on (http://[0-9.:]+)/")).let {
                server = it.first
                base = it.second
            }
            admin = field(call("POST", "/api/login", """{"username": "admin", "password": "$ADMIN_PASSWORD"}""", null), "token")
        }

        @JvmStatic
        @AfterAll
        fun stop() {
            if (this::server.isInitialized) server.destroy()
            if (this::simulator.isInitialized) simulator.destroy()
        }

        fun call(method: String, url: String, body: String?, token: String? = admin): String {
            val req = HttpRequest.newBuilder(URI.create(if (url.startsWith("http")) url else base + url))
                .header("content-type", "application/json")
                .method(method, body?.let { HttpRequest.BodyPublishers.ofString(it) } ?: HttpRequest.BodyPublishers.noBody())
            token?.let { req.header("authorization", "Bearer $it") }
            val res = http.send(req.build(), HttpResponse.BodyHandlers.ofString())
            check(res.statusCode() in 200..299) { "$method $url: ${res.statusCode()} ${res.body()}\n${output.takeLast(20).joinToString("\n")}" }
            return res.body()
        }

        fun field(json: String, name: String): String =
            Regex("\"$name\"\\s*:\\s*\"([^\"]*)\"").find(json)?.groupValues?.get(1) ?: error("no $name in $json")
    }

    /** The repair up to the clean-up, as (minutes from the window start, command). */
    private val repairToTheCleanUp = repairToTheFeeSchedule("qr") + listOf(
        9 to """{"type": "present_quote", "quote": {"lines": [{"item": "visit_fee"}, {"item": "labour_basic"}, {"item": "part_compressor_relay"}]}}""",
        10 to """{"type": "accept_quote", "revision": 1}""",
        30 to """{"type": "record_work", "description": "更换压缩机启动继电器", "parts_used": [{"item": "part_compressor_relay", "old_serial": "R-1", "new_serial": "R-2"}]}""",
        31 to photoCommand("after_repair", "qr"),
        40 to """{"type": "record_test_run", "passed": true}""",
        42 to """{"type": "brief_customer"}""",
        45 to """{"type": "clean_up", "product_restored": true, "wiped": true, "floor_cleaned": true, "no_tool_left": true}""",
    )

    private fun until(what: String, done: () -> QrPayment): QrPayment {
        val deadline = System.nanoTime() + 30_000_000_000
        while (true) {
            val p = done()
            if (System.nanoTime() > deadline) throw AssertionError("never $what: $p\n${output.takeLast(20).joinToString("\n")}")
            if (what == "paid" && p.status == QrPaymentStatus.PAID) return p
            if (what == "awaiting payment" && p.status == QrPaymentStatus.AWAITING_PAYMENT) return p
            Thread.sleep(200)
        }
    }

    @Test
    fun `the customer pays the phone's WeChat Pay code and the payment is recorded, confirmed by the provider`(@TempDir dir: Path) {
        call("POST", "/api/technicians", """{"id": "T-88", "name": "赵磊", "trades": ["appliance_repair"]}""")
        // The window started an hour ago: the technician is at the payment now.
        val start = Instant.now().minus(60, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.MINUTES)
        val id = field(
            call(
                "POST", "/api/assignments",
                """{"trade": "appliance_repair",
                    "customer": {"name": "周敏", "phone": "139 0000 5678", "address": "徐汇区漕溪北路 88 号"},
                    "product": {"model": "BCD-470", "purchase_date": "2023-05-01", "warranty": "out_of_warranty"},
                    "fault_description": "冰箱不制冷",
                    "requested_window": {"start": "$start", "end": "${start.plus(2, ChronoUnit.HOURS)}"}}""",
            ),
            "id",
        )
        call("POST", "/api/assignments/$id/assign", """{"technician": "T-88"}""")

        val setup = DeviceSetup(InMemoryEnrolmentVault(), dir.resolve("phone.db").toString())
        val enrolled = setup.enrol(base, "admin", ADMIN_PASSWORD, "T-88", "phone-88")
        assertTrue(enrolled is CoreResult.Ok, "enrol: $enrolled")
        val store = setup.openStore()!!
        val syncer = setup.syncer(store)!!
        syncer.syncNow(null)
        for ((minutes, command) in repairToTheCleanUp) {
            store.applyCommand(id, command, start.plus(minutes.toLong(), ChronoUnit.MINUTES), null)
        }

        // The code for exactly what is due: visit fee, basic labour and the relay.
        val made = syncer.createQrPayment(id, "wechat_pay")
        assertEquals(14500L, made.amountFen)
        val waiting = until("awaiting payment") { syncer.qrPayment(made.paymentId) }
        assertEquals("¥145.00", waiting.amountShown)
        assertEquals("请客户扫码付款", waiting.statusText.zh)
        assertEquals("微信支付", waiting.providerName.zh)
        assertTrue(waiting.codeUrl!!.startsWith("weixin://wxpay/bizpayurl?pr="), waiting.codeUrl)
        // Not paid yet: nothing is recorded, and the refusal names the payment.
        val early = assertThrows<DoorstepException.InvalidInput> { store.collectQrPayment(waiting, Instant.now()) }
        assertTrue(early.zh.startsWith("payment："), early.zh)

        // The customer scans and pays: the provider's signed notification reaches the center.
        call("POST", "$simulatorUrl/_sim/wechat-pay/pay", """{"out_trade_no": "${waiting.outTradeNo}"}""", null)
        val paid = until("paid") { syncer.qrPayment(made.paymentId) }
        assertEquals("已付款", paid.statusText.zh)
        val recorded = store.collectQrPayment(paid, start.plus(50, ChronoUnit.MINUTES))
        assertEquals(listOf("payment_collected"), recorded.events)
        assertFalse(recorded.screen.nextActions.any { it.command == "collect_payment" })
        syncer.syncNow(null)

        // The center matches the phone's payment with the provider's confirmation.
        val findings = call("GET", "/api/reconciliation", null)
        assertFalse(findings.contains("qr_payment_unconfirmed"), findings)
        val orders = call("GET", "/api/assignments/$id/qr-payments", null)
        assertTrue(orders.contains("\"state\":\"paid\""), orders)
        store.close()
        syncer.close()
    }
}
