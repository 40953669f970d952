package app.doorstep.android

import android.content.Context
import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.doorstep.core.CustomerSignOff
import app.doorstep.shell.CoreResult
import app.doorstep.shell.DeviceSetup
import app.doorstep.shell.Language
import app.doorstep.shell.SignatureCapture
import app.doorstep.shell.SignaturePadState
import app.doorstep.shell.StoreVisitRepository
import app.doorstep.shell.SyncBadgeState
import app.doorstep.shell.TodayListState
import app.doorstep.shell.VisitFlowState
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.combine
import kotlinx.coroutines.flow.stateIn
import kotlinx.coroutines.launch
import java.time.Clock
import java.time.Instant
import java.time.ZoneId

/**
 * Glue between the Compose screens, the shell's repository and the sync
 * controller, for an enrolled phone. Every decision is the core's: this
 * holds the current screen state, the last refusal to show and the sync
 * badge, nothing else. Visit calls are short local transactions, made on
 * the caller's thread (the store's budget is ~1 ms per command); sync runs
 * on the controller's own thread.
 */
class VisitViewModel(setup: DeviceSetup, context: Context, val lang: Language) : ViewModel() {
    private val zone = ZoneId.systemDefault()
    private val store = setup.openStore() ?: error("VisitViewModel needs an enrolled phone")

    // "Today" is the phone's own day (the technician's time zone).
    private val repo = StoreVisitRepository(store, Clock.systemUTC(), zone.rules.getOffset(Instant.now()).totalSeconds / 60)
    private val sync = SyncController(
        context,
        (context.applicationContext as DoorstepApplication).syncService() ?: error("VisitViewModel needs an enrolled phone"),
    )

    val today = MutableStateFlow(TodayListState(emptyList()))
    val open = MutableStateFlow<String?>(null)
    val flow = MutableStateFlow<VisitFlowState?>(null)
    private val _refusal = MutableStateFlow<String?>(null)
    val refusal: StateFlow<String?> = _refusal
    val pendingUploads = MutableStateFlow(0L)

    /** The badge on every screen: the core sync loop's state and what waits on the phone. */
    val badge: StateFlow<SyncBadgeState> = combine(sync.state, pendingUploads) { s, pending ->
        SyncBadgeState.of(s, pending, lang, zone)
    }.stateIn(viewModelScope, SharingStarted.Eagerly, SyncBadgeState.of(sync.state.value, 0L, lang, zone))

    init {
        refreshToday()
        viewModelScope.launch {
            sync.finished.collect { summary ->
                if (summary.changes > 0uL) {
                    // New, changed, reassigned or cancelled assignments arrived.
                    refreshToday()
                    refreshVisit()
                } else {
                    pendingUploads.value = repo.pendingUploads()
                }
            }
        }
        sync.start()
    }

    /** The "sync now" button, and the app coming back to the foreground. */
    fun syncNow() = sync.syncNow()

    fun refreshToday() {
        today.value = TodayListState.of(repo.today(), lang, zone)
        pendingUploads.value = repo.pendingUploads()
    }

    fun openVisit(assignmentId: String?) {
        open.value = assignmentId
        refreshVisit()
    }

    fun refreshVisit() {
        val id = open.value ?: run { flow.value = null; return }
        when (val r = repo.screen(id)) {
            is CoreResult.Ok -> flow.value = VisitFlowState.of(r.value, Instant.now(), lang)
            is CoreResult.Failed -> _refusal.value = r.text(lang)
        }
    }

    /** Sends one command (JSON from `Commands`) to the open visit. */
    fun send(commandJson: String) {
        val id = open.value ?: return
        when (val r = repo.apply(id, commandJson)) {
            is CoreResult.Ok -> {
                _refusal.value = null
                flow.value = VisitFlowState.of(r.value.screen, Instant.now(), lang)
                recorded()
            }
            is CoreResult.Failed -> _refusal.value = r.text(lang)
        }
    }

    /** A command was recorded: count it as waiting and send it as soon as the phone can. */
    private fun recorded() {
        pendingUploads.value = repo.pendingUploads()
        sync.syncNow()
    }

    /** The digest shown on the pad: exactly what these ratings would sign. */
    fun padState(capture: SignatureCapture, quality: Int, attitude: Int): SignaturePadState? {
        val id = open.value ?: return null
        val screen = (repo.screen(id) as? CoreResult.Ok)?.value ?: return null
        val preview = repo.previewSignOff(id, draft(capture, quality, attitude))
        return SignaturePadState.of(screen, capture, lang, (preview as? CoreResult.Ok)?.value)
    }

    private fun draft(capture: SignatureCapture, quality: Int, attitude: Int) = CustomerSignOff(
        quality.toUByte(), attitude.toUByte(), null, capture.strokes(), SignaturePadState.consentText(lang), null,
    )

    /** Signs with the digest the pad showed, so a report changed meanwhile is refused. */
    fun signOff(capture: SignatureCapture, quality: Int, attitude: Int) {
        val id = open.value ?: return
        val draft = draft(capture, quality, attitude)
        val shown = (repo.previewSignOff(id, draft) as? CoreResult.Ok)?.value?.full
        val r = repo.signOff(id, draft.copy(shownDigest = shown))
        when (r) {
            is CoreResult.Ok -> {
                flow.value = VisitFlowState.of(r.value.screen, Instant.now(), lang)
                recorded()
            }
            is CoreResult.Failed -> _refusal.value = r.text(lang)
        }
    }

    fun decline(reason: String) {
        val id = open.value ?: return
        when (val r = repo.declineSignature(id, reason)) {
            is CoreResult.Ok -> {
                flow.value = VisitFlowState.of(r.value.screen, Instant.now(), lang)
                recorded()
            }
            is CoreResult.Failed -> _refusal.value = r.text(lang)
        }
    }

    /** Stops sync first (it cancels a sync in flight), then closes the store. */
    override fun onCleared() {
        sync.close()
        repo.close()
    }
}
