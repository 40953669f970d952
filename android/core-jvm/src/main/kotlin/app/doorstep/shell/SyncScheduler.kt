package app.doorstep.shell

import app.doorstep.core.DoorstepException
import app.doorstep.core.SyncListener
import app.doorstep.core.SyncProgress
import app.doorstep.core.SyncSummary
import app.doorstep.core.Syncer
import java.time.Clock
import java.time.Duration
import java.time.Instant
import java.util.concurrent.ScheduledExecutorService
import java.util.concurrent.ScheduledFuture
import java.util.concurrent.TimeUnit
import kotlin.random.Random

/**
 * What the scheduler needs of sync: the core's [Syncer] in the app, a fake
 * in the scheduler's own tests. [syncNow] blocks and throws
 * [DoorstepException]; [cancel] may be called from any thread.
 */
interface SyncEngine {
    fun syncNow(listener: SyncListener?): SyncSummary
    fun cancel(): Boolean
}

/** The core's syncer as a [SyncEngine]. */
class CoreSyncEngine(private val syncer: Syncer) : SyncEngine, AutoCloseable {
    override fun syncNow(listener: SyncListener?): SyncSummary = syncer.syncNow(listener)
    override fun cancel(): Boolean = syncer.cancel()
    override fun close() = syncer.close()
}

/** Where sync stands, for the badge and the sync screen. */
sealed interface SyncState {
    /** Not started yet. */
    data object Idle : SyncState

    /** A sync is running; [progress] once the core reports it. */
    data class Syncing(val progress: SyncProgress?) : SyncState

    /** The last sync finished at [at]; the next periodic one is at [next]. */
    data class Synced(val summary: SyncSummary, val at: Instant, val next: Instant) : SyncState

    /** It failed in a way a retry may cure (no network, server busy); retrying at [retryAt]. */
    data class Retrying(val failure: CoreResult.Failed, val attempt: Int, val retryAt: Instant) : SyncState

    /** It failed in a way a retry will not cure (token revoked, app too old): someone must act. */
    data class NeedsAttention(val failure: CoreResult.Failed, val next: Instant) : SyncState

    /** The phone has no connection: nothing is attempted until it comes back. */
    data object Offline : SyncState

    /** Closed (the app is going away). */
    data object Stopped : SyncState
}

/**
 * Exponential backoff with full jitter (AWS architecture blog): the n-th
 * retry waits a uniformly random time in [0, min(cap, base * 2^n)], so a
 * fleet of phones coming back online together does not hammer the server
 * in step.
 */
class Backoff(
    private val base: Duration = Duration.ofSeconds(5),
    private val cap: Duration = Duration.ofMinutes(15),
    private val random: Random = Random.Default,
) {
    var attempt: Int = 0
        private set

    fun next(): Duration {
        val ceilingMs = base.toMillis().coerceAtLeast(1) shl attempt.coerceAtMost(30)
        val bound = minOf(cap.toMillis(), ceilingMs.coerceAtLeast(1))
        attempt++
        return Duration.ofMillis(random.nextLong(0, bound + 1))
    }

    fun reset() {
        attempt = 0
    }
}

/**
 * Where the scheduler's work runs: one background thread in the app (a
 * [ScheduledExecutorService] with one thread: syncs never overlap), a hand-
 * driven queue in tests.
 */
interface SyncTimer {
    fun execute(task: () -> Unit)
    fun schedule(delay: Duration, task: () -> Unit): Cancellable
    fun shutdown()

    fun interface Cancellable {
        fun cancel()
    }
}

/** [SyncTimer] over a single-thread executor. */
class ExecutorSyncTimer(private val executor: ScheduledExecutorService) : SyncTimer {
    override fun execute(task: () -> Unit) {
        executor.execute(task)
    }

    override fun schedule(delay: Duration, task: () -> Unit): SyncTimer.Cancellable {
        val f: ScheduledFuture<*> = executor.schedule(task, delay.toMillis(), TimeUnit.MILLISECONDS)
        return SyncTimer.Cancellable { f.cancel(false) }
    }

    override fun shutdown() = executor.shutdown()
}

/**
 * Keeps the phone in sync on its own: a sync at start, every [interval]
 * after a success, retries with [backoff] after a transient failure (never
 * waiting for the next local write), a sync as soon as connectivity comes
 * back or the technician taps "sync now", nothing while offline. Syncs run
 * one at a time on [timer]; [states] hears every change (on the timer's
 * thread: post to the UI thread there).
 *
 * A permanent failure (revoked token, outdated app) is shown as
 * [SyncState.NeedsAttention] and retried only at the normal interval: the
 * records stay safe on the phone either way.
 */
class SyncScheduler(
    private val engine: SyncEngine,
    private val timer: SyncTimer,
    private val interval: Duration = Duration.ofMinutes(15),
    private val backoff: Backoff = Backoff(),
    private val clock: Clock = Clock.systemUTC(),
    private val states: (SyncState) -> Unit,
) : AutoCloseable {
    @Volatile private var online = true
    @Volatile private var closed = false
    /** A sync is queued and has not started yet: more requests join it. */
    private val queued = java.util.concurrent.atomic.AtomicBoolean(false)
    private var next: SyncTimer.Cancellable? = null
    private val lock = Any()

    @Volatile var state: SyncState = SyncState.Idle
        private set

    private fun emit(s: SyncState) {
        state = s
        states(s)
    }

    /** Starts the loop: syncs now. */
    fun start() = syncNow()

    /**
     * Sync as soon as possible (the "sync now" button, new work recorded, app
     * in the foreground). Requests made while one is queued join it, so a
     * burst of checklist taps costs one sync, not one each.
     */
    fun syncNow() {
        if (closed) return
        synchronized(lock) {
            next?.cancel()
            next = null
        }
        if (queued.compareAndSet(false, true)) timer.execute { runOnce() }
    }

    /** The platform's connectivity callback. Going offline cancels a sync in flight. */
    fun onConnectivityChanged(isOnline: Boolean) {
        if (closed || online == isOnline) return
        online = isOnline
        if (isOnline) {
            backoff.reset()
            syncNow()
        } else {
            synchronized(lock) {
                next?.cancel()
                next = null
            }
            engine.cancel()
            timer.execute { if (!online && !closed) emit(SyncState.Offline) }
        }
    }

    private fun scheduleIn(delay: Duration) {
        synchronized(lock) {
            next?.cancel()
            next = timer.schedule(delay) { runOnce() }
        }
    }

    private fun runOnce() {
        queued.set(false)
        if (closed) return
        if (!online) {
            emit(SyncState.Offline)
            return
        }
        emit(SyncState.Syncing(null))
        val listener = object : SyncListener {
            override fun onProgress(progress: SyncProgress) = emit(SyncState.Syncing(progress))
        }
        try {
            val summary = engine.syncNow(listener)
            backoff.reset()
            val now = clock.instant()
            emit(SyncState.Synced(summary, now, now + interval))
            scheduleIn(interval)
        } catch (e: DoorstepException) {
            val failure = CoreResult.Failed(e.code, e.text(Language.EN), e.text(Language.ZH), rule = false)
            when {
                closed -> emit(SyncState.Stopped)
                e.code == "sync_cancelled" && !online -> emit(SyncState.Offline)
                e is DoorstepException.Sync && (e.transient || e.code == "sync_cancelled") -> {
                    val attempt = backoff.attempt + 1
                    val delay = backoff.next()
                    emit(SyncState.Retrying(failure, attempt, clock.instant() + delay))
                    scheduleIn(delay)
                }
                else -> {
                    emit(SyncState.NeedsAttention(failure, clock.instant() + interval))
                    scheduleIn(interval)
                }
            }
        }
    }

    /** Stops: cancels a sync in flight and everything scheduled. */
    override fun close() {
        if (closed) return
        closed = true
        synchronized(lock) {
            next?.cancel()
            next = null
        }
        engine.cancel()
        emit(SyncState.Stopped)
        timer.shutdown()
    }
}
