package app.doorstep.android

import androidx.lifecycle.ViewModel
import app.doorstep.core.CustomerSignOff
import app.doorstep.core.DeviceStore
import app.doorstep.shell.CoreResult
import app.doorstep.shell.Language
import app.doorstep.shell.SignatureCapture
import app.doorstep.shell.SignaturePadState
import app.doorstep.shell.StoreVisitRepository
import app.doorstep.shell.TodayListState
import app.doorstep.shell.VisitFlowState
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import java.time.Instant
import java.time.ZoneId

/**
 * Glue between the Compose screens and the shell's repository. Every
 * decision is the core's: this holds the current screen state and the last
 * refusal to show, nothing else. Calls are short local transactions, made
 * on the caller's thread (the store's budget is ~1 ms per command).
 */
class VisitViewModel(storePath: String, deviceId: String, technicianId: String, technicianName: String, val lang: Language) : ViewModel() {
    private val repo = StoreVisitRepository(DeviceStore.open(storePath, deviceId, technicianId, technicianName))
    private val zone = ZoneId.systemDefault()

    val today = MutableStateFlow(TodayListState(emptyList()))
    val open = MutableStateFlow<String?>(null)
    val flow = MutableStateFlow<VisitFlowState?>(null)
    private val _refusal = MutableStateFlow<String?>(null)
    val refusal: StateFlow<String?> = _refusal
    val pendingUploads = MutableStateFlow(0L)

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
            }
            is CoreResult.Failed -> _refusal.value = r.text(lang)
        }
        pendingUploads.value = repo.pendingUploads()
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
            is CoreResult.Ok -> flow.value = VisitFlowState.of(r.value.screen, Instant.now(), lang)
            is CoreResult.Failed -> _refusal.value = r.text(lang)
        }
    }

    fun decline(reason: String) {
        val id = open.value ?: return
        when (val r = repo.declineSignature(id, reason)) {
            is CoreResult.Ok -> flow.value = VisitFlowState.of(r.value.screen, Instant.now(), lang)
            is CoreResult.Failed -> _refusal.value = r.text(lang)
        }
    }

    override fun onCleared() = repo.close()
}
