package app.doorstep.android

import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import app.doorstep.core.SyncSummary
import app.doorstep.core.Syncer
import app.doorstep.shell.CoreSyncEngine
import app.doorstep.shell.ExecutorSyncTimer
import app.doorstep.shell.SyncScheduler
import app.doorstep.shell.SyncState
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.StateFlow
import java.util.concurrent.Executors

/**
 * Owns the running sync of one opened store: the shell's tested
 * [SyncScheduler] over the core's [Syncer] on one background thread, fed by
 * the phone's default-network callback. Exposes the [SyncState] for the
 * badge and each finished sync's summary. No policy of its own: timing,
 * backoff and what "transient" means are the scheduler's and the core's.
 */
class SyncController(context: Context, syncer: Syncer) : AutoCloseable {
    private val _state = MutableStateFlow<SyncState>(SyncState.Idle)
    val state: StateFlow<SyncState> = _state

    private val _finished = MutableSharedFlow<SyncSummary>(extraBufferCapacity = 8, onBufferOverflow = BufferOverflow.DROP_OLDEST)

    /** Every successful sync, even when the state moves on before a collector sees it. */
    val finished: SharedFlow<SyncSummary> = _finished

    private val engine = CoreSyncEngine(syncer)
    private val executor = Executors.newSingleThreadScheduledExecutor { r -> Thread(r, "doorstep-sync").apply { isDaemon = true } }

    // The scheduler reports on its own thread; StateFlow and tryEmit are thread-safe.
    private val scheduler = SyncScheduler(engine, ExecutorSyncTimer(executor)) { s ->
        _state.value = s
        if (s is SyncState.Synced) _finished.tryEmit(s.summary)
    }

    private val connectivity = context.applicationContext.getSystemService(ConnectivityManager::class.java)

    @Volatile private var current: Network? = null

    private val callback = object : ConnectivityManager.NetworkCallback() {
        override fun onAvailable(network: Network) {
            current = network
            scheduler.onConnectivityChanged(true)
        }

        override fun onLost(network: Network) {
            // When the default network switches (Wi-Fi to mobile), the old one's loss may come late.
            if (current == null || current == network) {
                current = null
                scheduler.onConnectivityChanged(false)
            }
        }
    }

    /** Starts: connectivity as it is now, the callback, and a first sync. */
    fun start() {
        current = connectivity.activeNetwork
        scheduler.onConnectivityChanged(current != null)
        connectivity.registerDefaultNetworkCallback(callback)
        scheduler.start()
    }

    /** "Sync now": the button, a newly recorded command, the app coming to the foreground. */
    fun syncNow() = scheduler.syncNow()

    override fun close() {
        runCatching { connectivity.unregisterNetworkCallback(callback) }
        scheduler.close()
        engine.close()
    }
}
