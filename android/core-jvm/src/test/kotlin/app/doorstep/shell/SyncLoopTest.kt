package app.doorstep.shell

import app.doorstep.core.DeviceStore
import app.doorstep.core.HttpHeader
import app.doorstep.core.HttpRequest
import app.doorstep.core.HttpResponse
import app.doorstep.core.HttpTransport
import app.doorstep.core.LocalTimes
import app.doorstep.core.SyncPhase
import app.doorstep.core.SyncProgress
import app.doorstep.core.SyncService
import app.doorstep.core.SyncServiceState
import app.doorstep.core.SyncSettings
import app.doorstep.core.SyncStage
import app.doorstep.core.SyncSummary
import app.doorstep.core.SyncTiming
import app.doorstep.core.TransportException
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path
import java.time.Duration
import java.time.Instant
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger

/**
 * The server, scripted, as the shell's HTTP stack: each request takes the
 * next answer ([Answer.OK] once the script is used up). [Answer.HOLD] keeps
 * the request waiting until [release] or a cancel.
 */
class ScriptedServer(vararg answers: Answer) : HttpTransport {
    enum class Answer { OK, DOWN, REVOKED, HOLD }

    private val script = ArrayDeque(answers.toList())
    private val released = CountDownLatch(1)
    @Volatile private var cancelled = false
    val requests = AtomicInteger()
    val cancels = AtomicInteger()

    fun release() = released.countDown()

    /** Waits until [n] requests have come in. */
    fun awaitRequests(n: Int) {
        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20)
        while (requests.get() < n) {
            check(System.nanoTime() < deadline) { "only ${requests.get()} of $n requests came" }
            Thread.sleep(5)
        }
    }

    override fun send(request: HttpRequest): HttpResponse {
        requests.incrementAndGet()
        when (synchronized(script) { script.removeFirstOrNull() } ?: Answer.OK) {
            Answer.DOWN -> throw TransportException.Network("java.net.ConnectException: Connection refused")
            Answer.REVOKED -> return json(401, """{"error": {"code": "unauthorized", "message": "device revoked"}}""")
            Answer.HOLD -> {
                released.await(30, TimeUnit.SECONDS)
                if (cancelled) throw TransportException.Network("cancelled")
            }
            Answer.OK -> {}
        }
        // Nothing is ever waiting in these tests' stores: every sync is one pull.
        check(request.url.endsWith("/api/sync/pull")) { "unexpected ${request.url}" }
        return json(
            200,
            """{"protocol_version": 1, "changes": [], "next_cursor": 0, "more": false, "server_time": "2026-11-25T02:00:00Z"}""",
        )
    }

    override fun cancel() {
        cancels.incrementAndGet()
        cancelled = true
        released.countDown()
    }

    private fun json(status: Int, body: String) =
        HttpResponse(status.toUShort(), listOf(HttpHeader("content-type", "application/json")), body.toByteArray())
}

/**
 * The shell's [SyncLoop] over the real native sync service (the core's one
 * loop): the shell only passes signals in and shows the state; the timing
 * below is the core's, shortened through [SyncTiming].
 */
class SyncLoopTest {
    @TempDir lateinit var dir: Path
    private val states = SyncStates()
    private val closing = mutableListOf<AutoCloseable>()

    @AfterEach
    fun closeAll() = closing.reversed().forEach { it.close() }

    private fun loop(server: ScriptedServer, interval: Duration = Duration.ofHours(1)): Pair<SyncLoop, SyncService> {
        val store = DeviceStore.open(dir.resolve("phone.db").toString(), "phone-9", "T-9", "李伟")
        val service = SyncService.withTiming(
            store, SyncSettings("https://doorstep.example.com", "token", 10u), server,
            SyncTiming(interval.toMillis().toULong(), 50u, 400u),
        )
        val loop = SyncLoop(service, states::add)
        closing += store
        closing += service
        closing += loop
        return loop to service
    }

    @Test
    fun `syncs at start and again after every interval`() {
        val server = ScriptedServer()
        val (loop, _) = loop(server, Duration.ofSeconds(1))
        loop.start()
        val first = states.nth(1) { it is SyncPhase.Synced }
        val seenFirst = System.nanoTime()
        val next = (first.phase as SyncPhase.Synced).nextSyncAt
        val gap = Duration.between(first.lastSuccessAt!!, next)
        // One interval after the success, give or take the few milliseconds
        // between the core's two clock reads on a loaded machine.
        assertTrue(gap >= Duration.ofMillis(999) && gap <= Duration.ofMillis(1050), "next sync in $gap")
        states.nth(2) { it is SyncPhase.Synced }
        val waited = Duration.ofNanos(System.nanoTime() - seenFirst)
        assertTrue(waited >= Duration.ofMillis(900), "the second sync came after $waited")
        assertEquals(2, server.requests.get())
        assertTrue(loop.state.phase is SyncPhase.Synced || loop.state.phase is SyncPhase.Syncing)
    }

    @Test
    fun `a lost connection is retried on its own timer with jittered growing backoff`() {
        val down = ScriptedServer.Answer.DOWN
        val server = ScriptedServer(down, down, down)
        val (loop, _) = loop(server)
        loop.start()
        states.nth(1) { it is SyncPhase.Synced }
        val retries = states.all().map { it.phase }.filterIsInstance<SyncPhase.Retrying>()
        assertEquals(listOf(1u, 2u, 3u), retries.map { it.attempt })
        assertTrue(retries.all { it.failure.code == "sync_network" && it.failure.transient })
        assertTrue(retries.first().failure.zh.contains("自动上传"), retries.first().failure.zh)
        // Full jitter: the n-th wait is anywhere in [0, min(400 ms, 50 ms * 2^n)]; no local write was needed.
        assertEquals(4, server.requests.get())
        val badge = SyncBadgeState.of(states.nth(1) { it is SyncPhase.Retrying }, Language.ZH, LocalTimes.inDefaultZone())
        assertFalse(badge.problem, "a retry may cure it: reassure, do not alarm")
        assertTrue(badge.text.startsWith("记录已保存在手机上"), badge.text)
    }

    @Test
    fun `a revoked phone asks for attention in Chinese and only retries at the interval`() {
        val server = ScriptedServer(ScriptedServer.Answer.REVOKED)
        val (loop, _) = loop(server)
        loop.start()
        val need = states.nth(1) { it is SyncPhase.NeedsAttention }
        val phase = need.phase as SyncPhase.NeedsAttention
        assertEquals("sync_unauthorized", phase.failure.code)
        assertFalse(phase.failure.transient)
        val inAnHour = Duration.between(Instant.now(), phase.retryAt)
        assertTrue(inAnHour > Duration.ofMinutes(59), "retried at the interval, not sooner: $inAnHour")
        Thread.sleep(300)
        assertEquals(1, server.requests.get(), "no quick retries for a revoked token")
        val badge = SyncBadgeState.of(need, 4, Language.ZH, LocalTimes.inDefaultZone())
        assertTrue(badge.problem)
        assertTrue(badge.text.contains("重新登记"), badge.text)
    }

    @Test
    fun `going offline cancels the sync in flight and coming back syncs at once`() {
        val server = ScriptedServer(ScriptedServer.Answer.HOLD)
        val (loop, _) = loop(server)
        loop.start()
        server.awaitRequests(1)
        loop.onConnectivityChanged(false)
        states.nth(1) { it == SyncPhase.Offline }
        assertEquals(1, server.cancels.get(), "the request in flight was aborted")
        loop.syncNow()
        Thread.sleep(300)
        assertEquals(1, server.requests.get(), "nothing is attempted while offline")
        assertEquals(SyncPhase.Offline, loop.state.phase)

        loop.onConnectivityChanged(true)
        states.nth(1) { it is SyncPhase.Synced }
        assertEquals(2, server.requests.get())
    }

    @Test
    fun `sync now and the foreground skip the remaining wait`() {
        val server = ScriptedServer()
        val (loop, _) = loop(server)
        loop.start()
        states.nth(1) { it is SyncPhase.Synced }
        loop.syncNow()
        states.nth(2) { it is SyncPhase.Synced }
        loop.onForeground()
        states.nth(3) { it is SyncPhase.Synced }
        assertEquals(3, server.requests.get(), "an hour's wait skipped twice")
    }

    @Test
    fun `a burst of recorded commands costs one sync, not one each`() {
        val server = ScriptedServer(ScriptedServer.Answer.OK, ScriptedServer.Answer.HOLD)
        val (loop, _) = loop(server)
        loop.start()
        states.nth(1) { it is SyncPhase.Synced }
        loop.syncNow()
        server.awaitRequests(2)
        // Five commands recorded and the app brought forward while that sync runs.
        repeat(5) { loop.syncNow() }
        loop.onForeground()
        server.release()
        states.nth(3) { it is SyncPhase.Synced }
        Thread.sleep(300)
        assertEquals(3, server.requests.get(), "the burst cost one more sync")
    }

    @Test
    fun `close stops the loop and the sync in flight`() {
        val server = ScriptedServer(ScriptedServer.Answer.HOLD)
        val (loop, service) = loop(server)
        loop.start()
        server.awaitRequests(1)
        assertTrue(service.isRunning())
        loop.close()
        states.nth(1) { it == SyncPhase.Stopped }
        assertEquals(1, server.cancels.get())
        loop.syncNow()
        Thread.sleep(300)
        assertEquals(1, server.requests.get())
        assertFalse(service.isRunning())
    }

    @Test
    fun `a background wake-up runs one sync and returns what it did`() {
        val server = ScriptedServer(ScriptedServer.Answer.DOWN)
        val (loop, _) = loop(server)
        val failed = loop.backgroundWake() as CoreResult.Failed
        assertEquals("sync_network", failed.code)
        val ok = loop.backgroundWake() as CoreResult.Ok
        assertEquals(0uL, ok.value.pending)
        loop.onConnectivityChanged(false)
        assertEquals("sync_offline", (loop.backgroundWake() as CoreResult.Failed).code)
        assertEquals(2, server.requests.get())
    }

    @Test
    fun `the badge reassures while offline and counts what waits`() {
        val times = LocalTimes.inDefaultZone()
        val off = SyncBadgeState.of(SyncServiceState(SyncPhase.Offline, null, 3u), Language.ZH, times)
        assertEquals("离线：记录保存在手机上 · 3 条待上传", off.text)
        assertFalse(off.problem)
        val synced = SyncBadgeState.of(
            SyncServiceState(
                SyncPhase.Synced(SyncSummary(2u, 0u, 0u, 1u, 0u, 0, 100u, 200u), Instant.parse("2026-11-25T02:57:00Z")),
                Instant.parse("2026-11-25T02:42:00Z"), 0u,
            ),
            Language.EN, times,
        )
        assertEquals("Synced at 10:42", synced.text)
        val busy = SyncBadgeState.of(
            SyncServiceState(SyncPhase.Syncing(SyncProgress(SyncStage.DOWNLOADING, 5u, 0u, 12u)), null, 0u),
            Language.ZH, times,
        )
        assertTrue(busy.busy)
        assertEquals("同步中 · 已接收 12 条更新", busy.text)
    }
}
