package app.doorstep.android

import app.doorstep.core.SyncPhase
import app.doorstep.core.SyncSummary
import app.doorstep.shell.CoreResult
import app.doorstep.ui.TechnicianBackend
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.drop
import kotlinx.coroutines.flow.filter
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.selects.select
import kotlinx.coroutines.withTimeoutOrNull

/**
 * The shared screens' backend on the phone: everything is the store's
 * ([inner], technician-ui's `StoreBackend`) except "sync now", which asks
 * the process's one sync loop ([sync]) instead of running a sync of its
 * own, so the button, the loop's timer and WorkManager never sync at once.
 * It waits for that loop's answer: the sync's summary, or the failure the
 * loop reports (its retry policy stays the core's).
 */
class LoopBackend(
    private val inner: TechnicianBackend,
    private val sync: SyncController,
    private val waitMillis: Long = 120_000,
) : TechnicianBackend by inner {
    override fun sync(): SyncResult = runBlocking {
        if (sync.state.value.phase is SyncPhase.Offline) return@runBlocking failureOf(SyncPhase.Offline)
        // Listen before asking, so a fast sync's result is not missed; a
        // failure counts only if it comes after this request (drop(1): the
        // state flow replays the current, older phase first).
        val done = async(start = CoroutineStart.UNDISPATCHED) { sync.finished.first() }
        val failed = async(start = CoroutineStart.UNDISPATCHED) {
            sync.state.drop(1).filter { it.phase is SyncPhase.Retrying || it.phase is SyncPhase.NeedsAttention || it.phase is SyncPhase.Offline }.first()
        }
        sync.syncNow()
        val outcome = withTimeoutOrNull(waitMillis) {
            select<SyncResult> {
                done.onAwait { CoreResult.Ok(it) }
                failed.onAwait { s -> failureOf(s.phase) }
            }
        }
        done.cancel()
        failed.cancel()
        outcome ?: CoreResult.Failed("sync_timeout", "The sync is taking long; it goes on in the background.", "同步耗时较长，将在后台继续。", rule = false)
    }

    private fun failureOf(phase: SyncPhase): SyncResult = when (phase) {
        is SyncPhase.Retrying -> phase.failure.let { CoreResult.Failed(it.code, it.en, it.zh, rule = false) }
        is SyncPhase.NeedsAttention -> phase.failure.let { CoreResult.Failed(it.code, it.en, it.zh, rule = false) }
        else -> CoreResult.Failed("offline", "No connection: your records are safe on the phone and sync when it is back.", "没有网络：记录已保存在手机上，联网后自动同步。", rule = false)
    }
}

private typealias SyncResult = CoreResult<SyncSummary>
