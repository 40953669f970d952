package app.doorstep.shell

import app.doorstep.core.DoorstepException
import app.doorstep.core.SyncListener
import app.doorstep.core.SyncProgress
import app.doorstep.core.SyncStage
import app.doorstep.core.SyncSummary
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.time.Duration
import java.time.Instant
import java.time.ZoneId
import kotlin.random.Random

/** A [SyncTimer] the test drives by hand: nothing runs until it says so. */
class ManualTimer : SyncTimer {
    private class Entry(val delay: Duration, val task: () -> Unit) {
        var cancelled = false
    }

    private val ready = ArrayDeque<() -> Unit>()
    private val scheduled = mutableListOf<Entry>()
    var shut = false
        private set

    override fun execute(task: () -> Unit) {
        if (!shut) ready.addLast(task)
    }

    override fun schedule(delay: Duration, task: () -> Unit): SyncTimer.Cancellable {
        val e = Entry(delay, task)
        if (!shut) scheduled.add(e)
        return SyncTimer.Cancellable { e.cancelled = true }
    }

    override fun shutdown() {
        shut = true
    }

    /** Runs everything submitted for "now". */
    fun runReady() {
        while (ready.isNotEmpty()) ready.removeFirst()()
    }

    /** The delays of the live scheduled tasks. */
    fun pending(): List<Duration> = scheduled.filter { !it.cancelled }.map { it.delay }

    /** Lets time pass until the next scheduled task and runs it; returns its delay. */
    fun fireNext(): Duration {
        val e = scheduled.first { !it.cancelled }
        scheduled.remove(e)
        e.task()
        runReady()
        return e.delay
    }
}

/** A scripted [SyncEngine]: each sync takes the next outcome. */
class ScriptedEngine(vararg outcomes: () -> SyncSummary) : SyncEngine {
    val script = ArrayDeque(outcomes.toList())
    var syncs = 0
    var cancels = 0

    override fun syncNow(listener: SyncListener?): SyncSummary {
        syncs++
        listener?.onProgress(SyncProgress(SyncStage.UPLOADING, 0u, 2u, 0u))
        return script.removeFirstOrNull()?.invoke() ?: summary()
    }

    override fun cancel(): Boolean {
        cancels++
        return false
    }
}

fun summary(pushed: ULong = 2u) = SyncSummary(pushed, 0u, 0u, 1u, 0u, 0, 100u, 200u)

fun noNetwork(): Nothing = throw DoorstepException.Sync(
    "sync_network", true, "connection refused",
    "No connection to the server. Your records are safe on the phone and will be sent automatically.",
    "无法连接服务器。记录已安全保存在手机上,恢复网络后会自动上传。",
)

fun revoked(): Nothing = throw DoorstepException.Sync(
    "sync_unauthorized", false, "401",
    "The server no longer accepts this phone. Ask the center to enrol it again; nothing recorded is lost.",
    "服务器不再接受本机。请联系服务中心重新登记手机,已记录的内容不会丢失。",
)

class SyncSchedulerTest {
    private val timer = ManualTimer()
    private val states = mutableListOf<SyncState>()
    private val interval = Duration.ofMinutes(15)
    private val clock = TestClock(Instant.parse("2026-11-25T02:00:00Z"))

    private fun scheduler(engine: SyncEngine) =
        SyncScheduler(engine, timer, interval, Backoff(random = Random(7)), clock) { states.add(it) }

    @Test
    fun `syncs at start and again after every interval`() {
        val engine = ScriptedEngine()
        val s = scheduler(engine)
        s.start()
        timer.runReady()
        assertEquals(1, engine.syncs)
        assertTrue(states.any { it is SyncState.Syncing && it.progress?.pending == 2uL }, "$states")
        val synced = s.state as SyncState.Synced
        assertEquals(clock.now + interval, synced.next)
        assertEquals(listOf(interval), timer.pending())
        assertEquals(interval, timer.fireNext())
        assertEquals(2, engine.syncs)
    }

    @Test
    fun `a lost connection is retried on its own timer with jittered growing backoff`() {
        val engine = ScriptedEngine({ noNetwork() }, { noNetwork() }, { noNetwork() }, { summary() }, { noNetwork() })
        val s = scheduler(engine)
        s.start()
        timer.runReady()
        val delays = mutableListOf<Duration>()
        repeat(3) {
            val r = s.state as SyncState.Retrying
            assertEquals(it + 1, r.attempt)
            assertEquals("sync_network", r.failure.code)
            delays.add(timer.fireNext())
        }
        // Full jitter: the n-th wait is anywhere in [0, 5 s * 2^n].
        delays.forEachIndexed { n, d -> assertTrue(d <= Duration.ofSeconds(5L shl n), "wait $n was $d") }
        assertTrue(s.state is SyncState.Synced)
        // A success resets the backoff: the next failure starts small again.
        timer.fireNext()
        assertEquals(1, (s.state as SyncState.Retrying).attempt)
        assertTrue(timer.pending().single() <= Duration.ofSeconds(5))
        assertEquals(5, engine.syncs)
    }

    @Test
    fun `a revoked phone asks for attention in Chinese and only retries at the interval`() {
        val s = scheduler(ScriptedEngine({ revoked() }))
        s.start()
        timer.runReady()
        val need = s.state as SyncState.NeedsAttention
        assertEquals("sync_unauthorized", need.failure.code)
        assertEquals(listOf(interval), timer.pending())
        val badge = SyncBadgeState.of(need, 4, Language.ZH, ZoneId.of("Asia/Shanghai"))
        assertTrue(badge.problem)
        assertTrue(badge.text.contains("重新登记"), badge.text)
    }

    @Test
    fun `going offline cancels the sync in flight and coming back syncs at once`() {
        val engine = ScriptedEngine()
        val s = scheduler(engine)
        s.start()
        timer.runReady()
        s.onConnectivityChanged(false)
        assertEquals(1, engine.cancels)
        assertTrue(timer.pending().isEmpty(), "nothing is attempted while offline")
        timer.runReady()
        assertEquals(SyncState.Offline, s.state)
        s.syncNow()
        timer.runReady()
        assertEquals(1, engine.syncs, "no sync while offline")
        assertEquals(SyncState.Offline, s.state)

        s.onConnectivityChanged(true)
        timer.runReady()
        assertEquals(2, engine.syncs)
        assertTrue(s.state is SyncState.Synced)
    }

    @Test
    fun `sync now skips the remaining wait`() {
        val engine = ScriptedEngine()
        val s = scheduler(engine)
        s.start()
        timer.runReady()
        assertEquals(1, timer.pending().size)
        s.syncNow()
        assertTrue(timer.pending().isEmpty(), "the periodic wait is cancelled")
        timer.runReady()
        assertEquals(2, engine.syncs)
        assertEquals(listOf(interval), timer.pending())
    }

    @Test
    fun `a burst of recorded commands costs one sync, not one each`() {
        val engine = ScriptedEngine()
        val s = scheduler(engine)
        s.start()
        timer.runReady()
        repeat(5) { s.syncNow() }
        timer.runReady()
        assertEquals(2, engine.syncs)
        // Once that one has started, a new request queues the next.
        s.syncNow()
        timer.runReady()
        assertEquals(3, engine.syncs)
    }

    @Test
    fun `close cancels and stops everything`() {
        val engine = ScriptedEngine()
        val s = scheduler(engine)
        s.start()
        timer.runReady()
        s.close()
        assertEquals(SyncState.Stopped, s.state)
        assertEquals(1, engine.cancels)
        assertTrue(timer.shut)
        s.syncNow()
        timer.runReady()
        assertEquals(1, engine.syncs)
    }

    @Test
    fun `backoff never exceeds its cap and spreads its waits`() {
        val b = Backoff(Duration.ofSeconds(5), Duration.ofMinutes(1), Random(42))
        val waits = (0 until 50).map { b.next() }
        assertTrue(waits.all { it <= Duration.ofMinutes(1) && !it.isNegative })
        assertTrue(waits.drop(10).toSet().size > 10, "jittered, not constant")
        b.reset()
        assertEquals(0, b.attempt)
        assertFalse(b.next() > Duration.ofSeconds(5))
    }

    @Test
    fun `the badge reassures while offline and counts what waits`() {
        val zone = ZoneId.of("Asia/Shanghai")
        val off = SyncBadgeState.of(SyncState.Offline, 3, Language.ZH, zone)
        assertEquals("离线:记录保存在手机上 · 3 条待上传", off.text)
        assertFalse(off.problem)
        val synced = SyncBadgeState.of(
            SyncState.Synced(summary(), Instant.parse("2026-11-25T02:42:00Z"), Instant.parse("2026-11-25T02:57:00Z")),
            0, Language.EN, zone,
        )
        assertEquals("Synced at 10:42", synced.text)
        val busy = SyncBadgeState.of(
            SyncState.Syncing(SyncProgress(SyncStage.DOWNLOADING, 5u, 0u, 12u)), 0, Language.ZH, zone,
        )
        assertTrue(busy.busy)
        assertEquals("同步中 · 已接收 12 条更新", busy.text)
    }
}
