package app.doorstep.shell

import app.doorstep.core.SyncService
import app.doorstep.core.SyncServiceState
import app.doorstep.core.SyncStateListener
import app.doorstep.core.SyncSummary
import app.doorstep.core.TaskHandle

/**
 * The core's one sync loop as the shell holds it: no timer and no retry
 * policy here (those are the core's [SyncService]), only the platform's
 * signals passed in and the loop's state passed out.
 *
 * [start] runs the loop (a sync at once, then on the core's own timers);
 * [onConnectivityChanged], [syncNow] and [onForeground] are the platform's
 * signals; [backgroundWake] is what WorkManager's worker and iOS's
 * BGAppRefreshTask call. [onChange] hears every state on the core's sync
 * thread (post to the UI thread there). [close] stops the loop; the
 * service itself stays its owner's.
 */
class SyncLoop(
    private val service: SyncService,
    private val onChange: (SyncServiceState) -> Unit = {},
) : AutoCloseable {
    private var handle: TaskHandle? = null

    /** The loop's latest state (any thread). */
    @Volatile var state: SyncServiceState = service.state()
        private set

    private val listener = object : SyncStateListener {
        override fun onState(state: SyncServiceState) {
            this@SyncLoop.state = state
            onChange(state)
        }
    }

    /** Starts the loop (a loop started before stops). */
    @Synchronized
    fun start() {
        handle?.close()
        handle = service.start(listener)
    }

    /** The platform's connectivity callback. Going offline cancels a sync in flight; coming back syncs at once. */
    fun onConnectivityChanged(isOnline: Boolean) = service.setOnline(isOnline)

    /** The "sync now" button, a newly recorded command. Bursts cost one sync. */
    fun syncNow() = service.syncNow()

    /** The app came to the foreground. */
    fun onForeground() = service.appForegrounded()

    /** One sync to completion, for a background wake-up. Blocking: call it from the worker's thread. */
    fun backgroundWake(): CoreResult<SyncSummary> = CoreResult.of { service.backgroundWake() }

    /** Stops the loop and the sync in flight; the listener hears `Stopped`. */
    @Synchronized
    override fun close() {
        handle?.let {
            it.cancel()
            it.close()
        }
        handle = null
    }
}
