package app.doorstep.shell

import app.doorstep.core.SyncPhase
import app.doorstep.core.SyncServiceState
import java.time.Duration
import java.util.concurrent.locks.ReentrantLock
import kotlin.concurrent.withLock

/** Every state a sync loop publishes, in order; tests wait on them (the loop runs on the core's thread). */
class SyncStates {
    private val lock = ReentrantLock()
    private val changed = lock.newCondition()
    private val seen = mutableListOf<SyncServiceState>()

    /** The listener to give the loop. */
    fun add(state: SyncServiceState) = lock.withLock {
        seen.add(state)
        changed.signalAll()
    }

    fun all(): List<SyncServiceState> = lock.withLock { seen.toList() }

    /** The [n]-th state (from 1) whose phase matches, waiting up to [timeout]. */
    fun nth(n: Int, timeout: Duration = Duration.ofSeconds(20), matches: (SyncPhase) -> Boolean): SyncServiceState =
        lock.withLock {
            val deadline = System.nanoTime() + timeout.toNanos()
            while (true) {
                seen.filter { matches(it.phase) }.getOrNull(n - 1)?.let { return it }
                val left = deadline - System.nanoTime()
                if (left <= 0) throw AssertionError("no state #$n of that kind within $timeout; seen $seen")
                changed.awaitNanos(left)
            }
            @Suppress("UNREACHABLE_CODE")
            error("unreachable")
        }

    /** How many published states match. */
    fun count(matches: (SyncPhase) -> Boolean): Int = lock.withLock { seen.count { matches(it.phase) } }
}
