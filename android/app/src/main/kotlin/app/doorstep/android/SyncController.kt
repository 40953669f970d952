package app.doorstep.android

import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import androidx.lifecycle.DefaultLifecycleObserver
import androidx.lifecycle.LifecycleOwner
import androidx.lifecycle.ProcessLifecycleOwner
import app.doorstep.core.SyncPhase
import app.doorstep.core.SyncService
import app.doorstep.core.SyncServiceState
import app.doorstep.core.SyncSummary
import app.doorstep.shell.SyncLoop
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.StateFlow

/**
 * Runs the core's sync loop while the screens are up and feeds it the
 * phone's signals: the default-network callback, the app coming to the
 * foreground (ProcessLifecycleOwner), and "sync now" (which also enqueues an
 * expedited WorkManager request, so the sync finishes even if the app goes
 * to the background). Exposes the loop's state for the badge and each
 * finished sync's summary. No policy of its own: timing, backoff and what
 * "transient" means are the core's. [service] is the application's (shared
 * with [SyncWorker]); closing this stops only the loop.
 */
class SyncController(context: Context, service: SyncService) : AutoCloseable {
    private val appContext = context.applicationContext
    private val _state = MutableStateFlow(service.state())
    val state: StateFlow<SyncServiceState> = _state

    private val _finished = MutableSharedFlow<SyncSummary>(extraBufferCapacity = 8, onBufferOverflow = BufferOverflow.DROP_OLDEST)

    /** Every successful sync, even when the state moves on before a collector sees it. */
    val finished: SharedFlow<SyncSummary> = _finished

    // The loop reports on the core's sync thread; StateFlow and tryEmit are thread-safe.
    private val loop = SyncLoop(service) { s ->
        _state.value = s
        (s.phase as? SyncPhase.Synced)?.let { _finished.tryEmit(it.summary) }
    }

    private val connectivity = appContext.getSystemService(ConnectivityManager::class.java)

    @Volatile private var current: Network? = null

    private val callback = object : ConnectivityManager.NetworkCallback() {
        override fun onAvailable(network: Network) {
            current = network
            loop.onConnectivityChanged(true)
        }

        override fun onLost(network: Network) {
            // When the default network switches (Wi-Fi to mobile), the old one's loss may come late.
            if (current == null || current == network) {
                current = null
                loop.onConnectivityChanged(false)
            }
        }
    }

    private val foreground = object : DefaultLifecycleObserver {
        override fun onStart(owner: LifecycleOwner) = loop.onForeground()
    }

    /** Starts (on the main thread): connectivity as it is now, the callbacks, and the loop's first sync. */
    fun start() {
        current = connectivity.activeNetwork
        loop.onConnectivityChanged(current != null)
        connectivity.registerDefaultNetworkCallback(callback)
        ProcessLifecycleOwner.get().lifecycle.addObserver(foreground)
        loop.start()
    }

    /** "Sync now": the button, a newly recorded command. */
    fun syncNow() {
        loop.syncNow()
        SyncWork.syncNow(appContext)
    }

    /** Stops the loop (on the main thread); a sync in flight is cancelled. */
    override fun close() {
        runCatching { connectivity.unregisterNetworkCallback(callback) }
        ProcessLifecycleOwner.get().lifecycle.removeObserver(foreground)
        loop.close()
    }
}
