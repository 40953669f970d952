package app.doorstep.shell

import app.doorstep.core.DeviceStore
import app.doorstep.core.DiscountKeyHolder
import app.doorstep.core.DoorstepException
import app.doorstep.core.LogLevel
import app.doorstep.core.LogRecord
import app.doorstep.core.SyncPhase
import app.doorstep.core.SyncSettings
import app.doorstep.core.Syncer
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
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
 * The shell against a real `doorstep-server` started by the test on an
 * ephemeral port (its own SQLite in a temp dir): enrolment at handover, the
 * core's sync loop bringing the day in and sending the technician's records
 * back, a revoked phone, cancelling a sync stuck on a silent server, and
 * the center's offline discount code checked under the secret enrolment
 * issued.
 */
class ServerSyncTest {
    companion object {
        private const val ADMIN_PASSWORD = "handover-secret-7"
        private lateinit var server: Process
        private lateinit var base: String
        private lateinit var admin: String
        private val http: HttpClient = HttpClient.newHttpClient()
        private val output = CopyOnWriteArrayList<String>()

        @JvmStatic
        @BeforeAll
        fun startServer(@TempDir data: Path) {
            val bin = System.getProperty("doorstep.server.bin")
                ?: error("set -Ddoorstep.server.bin to the built doorstep-server (scripts/test-all does)")
            check(File(bin).canExecute()) { "$bin is not an executable doorstep-server: build it with cargo build -p doorstep-server" }
            server = ProcessBuilder(
                bin, "--listen", "127.0.0.1:0", "--data-dir", data.toString(),
                "--admin-user", "admin", "--admin-password", ADMIN_PASSWORD,
            ).redirectErrorStream(true).start()
            val lines = server.inputStream.bufferedReader()
            val listening = Regex("listening on (http://[0-9.:]+)/")
            while (true) {
                val line = lines.readLine() ?: error("doorstep-server exited before listening:\n${output.joinToString("\n")}")
                output.add(line)
                listening.find(line)?.let { base = it.groupValues[1] }
                if (this::base.isInitialized) break
            }
            // Keep draining its output so the server never blocks on a full pipe.
            // The stream closes when the server is stopped: the end of its output.
            thread(isDaemon = true) { runCatching { lines.forEachLine { output.add(it) } } }
            admin = field(call("POST", "/api/login", """{"username": "admin", "password": "$ADMIN_PASSWORD"}""", null), "token")
        }

        @JvmStatic
        @AfterAll
        fun stopServer() {
            if (this::server.isInitialized) server.destroy()
        }

        fun call(method: String, path: String, body: String?, token: String? = admin): String {
            val req = HttpRequest.newBuilder(URI.create(base + path))
                .header("content-type", "application/json")
                .method(method, body?.let { HttpRequest.BodyPublishers.ofString(it) } ?: HttpRequest.BodyPublishers.noBody())
            token?.let { req.header("authorization", "Bearer $it") }
            val res = http.send(req.build(), HttpResponse.BodyHandlers.ofString())
            check(res.statusCode() in 200..299) { "$method $path: ${res.statusCode()} ${res.body()}" }
            return res.body()
        }

        /** A top-level string field of a JSON answer (the test needs only a few). */
        fun field(json: String, name: String): String =
            Regex("\"$name\"\\s*:\\s*\"([^\"]*)\"").find(json)?.groupValues?.get(1) ?: error("no $name in $json")

        fun technician(id: String, name: String) {
            call("POST", "/api/technicians", """{"id": "$id", "name": "$name", "trades": ["appliance_repair"]}""")
        }

        /** An appliance-repair assignment for [technician] whose window starts at [start]; returns its id. */
        fun assignment(technician: String, start: Instant): String {
            val end = start.plus(2, ChronoUnit.HOURS)
            val id = field(
                call(
                    "POST", "/api/assignments",
                    """{"trade": "appliance_repair",
                        "customer": {"name": "李华", "phone": "138 0013 8000", "address": "上海市浦东新区世纪大道88号1201室",
                                     "location": {"lat": $HOME_LAT, "lon": $HOME_LON}},
                        "product": {"model": "BCD-470", "purchase_date": "2023-05-01", "warranty": "out_of_warranty"},
                        "fault_description": "冰箱不制冷",
                        "requested_window": {"start": "$start", "end": "$end"}}""",
                ),
                "id",
            )
            call("POST", "/api/assignments/$id/assign", """{"technician": "$technician"}""")
            return id
        }
    }

    @Test
    fun `a phone enrolled at handover syncs its day in, works offline and sends every record back`(@TempDir dir: Path) {
        technician("T-77", "王强")
        val start = Instant.now().plus(2, ChronoUnit.HOURS).truncatedTo(ChronoUnit.MINUTES)
        val id = assignment("T-77", start)
        val logs = CopyOnWriteArrayList<LogRecord>()
        CoreLog.install(LogLevel.INFO) { logs.add(it) }
        try {
            val setup = DeviceSetup(InMemoryEnrolmentVault(), dir.resolve("phone.db").toString())
            val enrolment = when (val r = setup.enrol(base, "admin", ADMIN_PASSWORD, "T-77", "phone-77")) {
                is CoreResult.Ok -> r.value
                is CoreResult.Failed -> throw AssertionError("enrol: [${r.code}] ${r.en}")
            }
            assertEquals("王强", enrolment.technicianName)
            assertTrue(setup.enrolled)

            val store = setup.openStore() ?: throw AssertionError("an enrolled phone has a store")
            val service = setup.syncService(store)!!
            val states = SyncStates()
            val scheduler = SyncLoop(service, states::add)
            scheduler.start()
            val first = states.nth(1) { it is SyncPhase.Synced }.phase as SyncPhase.Synced
            assertEquals(1uL, first.summary.changes)
            assertEquals(0uL, first.summary.pending, "the 'received' fact never waits in the outbox: the pull's acknowledgement tells the server")

            // The technician's day, at the window's start.
            val clock = TestClock(start)
            val repo = StoreVisitRepository(store, clock, utcOffsetMinutes = 0)
            assertEquals(listOf(id), repo.today().map { it.assignmentId })
            val steps = listOf(
                "log_call" to FormValues.of("outcome" to "reached"),
                "confirm_appointment" to FormValues.of("address_confirmed" to true, "product_confirmed" to true),
            )
            for ((action, values) in steps) {
                val r = repo.submit(id, action, values)
                assertTrue(r is CoreResult.Ok, "$action: $r")
            }
            assertEquals(2L, repo.pendingUploads())

            scheduler.syncNow()
            val second = states.nth(2) { it is SyncPhase.Synced }.phase as SyncPhase.Synced
            assertEquals(2uL, second.summary.pushed)
            assertEquals(0L, repo.pendingUploads())
            assertNotNull(store.syncStatus().lastSuccessAt)

            val visits = call("GET", "/api/visits?assignment_id=$id", null)
            assertEquals("scheduled", field(visits, "stage"), visits)
            assertEquals("phone-77", field(visits, "device_id"))
            assertTrue(
                logs.any { it.target == "doorstep::sync" && it.message.startsWith("sync finished") },
                "core log lines reach the shell: $logs",
            )
            scheduler.close()
            service.close()
            repo.close()
        } finally {
            CoreLog.uninstall()
        }
    }

    /** The core's short code (`core/src/discount_approval.rs`): RFC 4226 truncation of the MAC to eight digits. */
    private fun shortCode(key: DiscountKeyHolder, assignmentId: String, amount: Long): String {
        val mac = key.mac("doorstep-discount-v1\n$assignmentId\n$amount".toByteArray())
        assertEquals(32, mac.size)
        val offset = mac[31].toInt() and 0x0f
        val word = ((mac[offset].toInt() and 0x7f) shl 24) or ((mac[offset + 1].toInt() and 0xff) shl 16) or
            ((mac[offset + 2].toInt() and 0xff) shl 8) or (mac[offset + 3].toInt() and 0xff)
        return "%08d".format(word % 100_000_000)
    }

    private val walkToTheFeeSchedule = repairToTheFeeSchedule("discount")

    @Test
    fun `the center's short code approves a discount offline under the secret enrolment issued, and no other code does`(@TempDir dir: Path) {
        technician("T-82", "钱进")
        val start = Instant.now().truncatedTo(ChronoUnit.MINUTES)
        val id = assignment("T-82", start)
        val vault = InMemoryEnrolmentVault()
        val key = FileDiscountKey(dir.resolve("phone.discount-key").toFile())
        val setup = DeviceSetup(vault, dir.resolve("phone.db").toString(), discountKey = key)
        val enrolment = when (val r = setup.enrol(base, "admin", ADMIN_PASSWORD, "T-82", "phone-82")) {
            is CoreResult.Ok -> r.value
            is CoreResult.Failed -> throw AssertionError("enrol: [${r.code}] ${r.en}")
        }
        // The secret went into the key file, and nowhere else.
        assertTrue(key.held())
        assertEquals(null, enrolment.discountSecret)
        assertEquals(null, vault.load()!!.discountSecret)
        val keyFile = dir.resolve("phone.discount-key")
        assertEquals(32L, java.nio.file.Files.size(keyFile))
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(java.nio.file.Files.getPosixFilePermissions(keyFile)))

        // The desk reads out the code for ¥10 off this order: the phone's key gives the same.
        val issued = call("POST", "/api/assignments/$id/discount-codes", """{"amount": 1000}""")
        assertEquals("phone-82", field(issued, "device_id"), issued)
        val code = field(issued, "code")
        assertEquals(shortCode(key, id, 1000), code)

        val store = setup.openStore()!!
        val syncer = setup.syncer(store)!!
        syncer.syncNow(null)
        for ((minutes, command) in walkToTheFeeSchedule) {
            store.applyCommand(id, command, start.plus(minutes.toLong(), ChronoUnit.MINUTES), null)
        }
        fun quote(amount: Long, approval: String) =
            """{"type": "present_quote", "quote": {"lines": [{"item": "visit_fee"}, {"item": "labour_basic"}, {"item": "part_compressor_relay"}],
                "discount": {"amount": $amount, "approval_code": "$approval", "approved_by": "中心 王"}}}"""
        val at = start.plus(9, ChronoUnit.MINUTES)
        val before = store.pendingUploadCount()
        // The code approves exactly its amount, and a code the center did not issue approves nothing.
        for ((amount, approval) in listOf(1200L to code, 1000L to if (code == "00000000") "00000001" else "00000000")) {
            val refused = assertThrows<DoorstepException.Refused> { store.applyCommand(id, quote(amount, approval), at, null) }
            assertEquals("discount_approval_unknown", refused.code, refused.en)
        }
        assertEquals(before, store.pendingUploadCount())
        val presented = store.applyCommand(id, quote(1000, code), at, null)
        assertEquals(listOf("quote_presented"), presented.events)

        // The server re-checks the quote under its copy of the secret and takes it.
        val sent = syncer.syncNow(null)
        assertEquals(0uL, sent.refused)
        assertEquals(0uL, sent.pending)
        store.closeStore()
        store.close()
        syncer.close()
    }

    @Test
    fun `a revoked phone is told in Chinese to enrol again, and its records stay`(@TempDir dir: Path) {
        technician("T-78", "赵敏")
        val setup = DeviceSetup(InMemoryEnrolmentVault(), dir.resolve("phone.db").toString())
        assertTrue(setup.enrol(base, "admin", ADMIN_PASSWORD, "T-78", "phone-78") is CoreResult.Ok)
        call("POST", "/api/devices/phone-78/revoke", "{}")

        val store = setup.openStore()!!
        val service = setup.syncService(store)!!
        val states = SyncStates()
        val scheduler = SyncLoop(service, states::add)
        scheduler.start()
        val state = states.nth(1) { it is SyncPhase.NeedsAttention }.phase as SyncPhase.NeedsAttention
        assertEquals("sync_unauthorized", state.failure.code)
        assertTrue(state.failure.zh.contains("重新登记"), state.failure.zh)
        assertEquals("sync_unauthorized", store.syncStatus().lastErrorCode)
        scheduler.close()
        service.close()
        store.closeStore()
        store.close()
    }

    @Test
    fun `a wrong dispatcher password is refused with a reason and enrols nothing`(@TempDir dir: Path) {
        val vault = InMemoryEnrolmentVault()
        val setup = DeviceSetup(vault, dir.resolve("phone.db").toString())
        val r = setup.enrol(base, "admin", "wrong", "T-77", "phone-79") as CoreResult.Failed
        assertEquals("enrol_refused", r.code)
        assertTrue(r.zh.contains("调度员账号"), r.zh)
        assertEquals(null, vault.load())
        assertEquals(null, setup.openStore())
    }

    @Test
    fun `no route to the server is a network failure a retry may cure`(@TempDir dir: Path) {
        val closed = ServerSocket(0).use { it.localPort }
        val setup = DeviceSetup(InMemoryEnrolmentVault(), dir.resolve("phone.db").toString())
        val r = setup.enrol("http://127.0.0.1:$closed", "admin", ADMIN_PASSWORD, "T-77", "phone-81") as CoreResult.Failed
        assertEquals("sync_network", r.code)
        assertTrue(r.zh.contains("无法连接服务器"), r.zh)
    }

    @Test
    fun `cancel stops a sync stuck on a silent server`(@TempDir dir: Path) {
        ServerSocket(0).use { silent ->
            val store = DeviceStore.open(dir.resolve("phone.db").toString(), "phone-80", "T-80", "孙浩")
            val syncer = Syncer(store, SyncSettings("http://127.0.0.1:${silent.localPort}", "token", 600u), UrlConnectionTransport())
            var failure: Throwable? = null
            val running = thread { failure = runCatching { syncer.syncNow(null) }.exceptionOrNull() }
            silent.accept().use { conn ->
                // The sync is connected and waiting for an answer that never comes.
                assertTrue(syncer.isSyncing())
                val second = assertThrows<DoorstepException.Sync> { syncer.syncNow(null) }
                assertEquals("sync_in_progress", second.code)
                assertTrue(syncer.cancel())
                running.join()
                // The transport dropped the connection too: the server side reads to its end.
                conn.soTimeout = 30_000
                val input = conn.getInputStream()
                while (input.read() != -1) { /* the request, then end of stream */ }
            }
            val e = failure as? DoorstepException.Sync ?: throw AssertionError("expected a sync error, got $failure")
            assertEquals("sync_cancelled", e.code)
            assertEquals("同步已取消。", e.zh)
            assertEquals("sync_cancelled", store.syncStatus().lastErrorCode)
            syncer.close()
            store.closeStore()
            store.close()
        }
    }
}
