//! The app's root: which screen shows (enrolment, today's list, a visit),
//! the language switch, and sync; shared by the desktop window and Android.
package app.doorstep.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.defaultMinSize
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Surface
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.CompositionLocalProvider
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.unit.dp
import app.doorstep.core.LocalTimes
import app.doorstep.shell.CoreResult
import app.doorstep.shell.Language
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import java.time.Clock

/**
 * The whole app's state: the enrolled backend (null before enrolment), the
 * open visit, the language, and the last sync's line.
 */
class TechnicianAppState(
    val enrolment: EnrolmentStateHolder,
    backend: TechnicianBackend?,
    val services: PlatformServices,
    private val clock: Clock,
    language: Language = Language.ZH,
) {
    private val defaultTimes = LocalTimes.inDefaultZone()

    /** Times as shown: the core's, in the enrolled store's business time zone (else the default zone). */
    val times: LocalTimes
        get() = backend?.times ?: defaultTimes

    var backend by mutableStateOf(backend)
        private set
    var language by mutableStateOf(language)
        private set
    var visit by mutableStateOf<VisitStateHolder?>(null)
        private set
    var today by mutableStateOf<TodayUiState?>(null)
        private set
    private var syncLine: CoreResultLine? = null
    private var syncing = false

    private data class CoreResultLine(val en: String, val zh: String)

    init {
        refreshToday()
    }

    fun enrolled(backend: TechnicianBackend) {
        this.backend = backend
        refreshToday()
    }

    fun switchLanguage() {
        language = language.other()
        visit?.relabel(language)
        refreshToday()
    }

    fun open(assignmentId: String) {
        val b = backend ?: return
        visit = VisitStateHolder(b, assignmentId, clock, times).also { it.refresh(language) }
    }

    fun closeVisit() {
        visit = null
        refreshToday()
    }

    /** One sync (blocking: call off the UI thread between [syncStarted] and [syncFinished]). */
    fun syncBlocking(): CoreResult<app.doorstep.core.SyncSummary>? = backend?.sync()

    fun syncStarted() {
        syncing = true
        refreshToday()
    }

    fun syncFinished(result: CoreResult<app.doorstep.core.SyncSummary>?) {
        syncing = false
        syncLine = when (result) {
            is CoreResult.Ok -> {
                val en = UiStrings.of(Language.EN).synced(result.value.pushed.toLong(), result.value.changes.toLong())
                val zh = UiStrings.of(Language.ZH).synced(result.value.pushed.toLong(), result.value.changes.toLong())
                CoreResultLine(en, zh)
            }
            is CoreResult.Failed -> CoreResultLine(result.en, result.zh)
            null -> null
        }
        visit?.refresh(language)
        refreshToday()
    }

    fun refreshToday() {
        val b = backend ?: return
        val line = syncLine?.let { if (language == Language.EN) it.en else it.zh }
        today = TodayUiState.of(b.today(), language, times, line, syncing)
    }
}

/** The app: the screen for [app]'s state under the language switch. */
@Composable
fun TechnicianApp(app: TechnicianAppState, modifier: Modifier = Modifier) {
    val scope = rememberCoroutineScope()
    CompositionLocalProvider(LocalStrings provides UiStrings.of(app.language)) {
        DoorstepTheme {
            Surface(modifier.fillMaxSize()) {
                Column(Modifier.fillMaxSize()) {
                    Row(Modifier.fillMaxWidth().padding(horizontal = 8.dp), verticalAlignment = Alignment.CenterVertically) {
                        Row(Modifier.weight(1f)) {}
                        TextButton(onClick = app::switchLanguage, modifier = Modifier.defaultMinSize(minHeight = 48.dp).testTag("language")) {
                            UiText(LocalStrings.current.switchLanguage, maxLines = 1)
                        }
                    }
                    val visit = app.visit
                    val visitState = visit?.state
                    when {
                        app.backend == null -> EnrolmentScreen(
                            app.enrolment.state,
                            onEdit = app.enrolment::edit,
                            onEnrol = {
                                scope.launch {
                                    val backend = withContext(Dispatchers.IO) { app.enrolment.enrol() }
                                    if (backend != null) app.enrolled(backend)
                                }
                            },
                            onSwitchMode = app.enrolment::switchMode,
                        )
                        visit != null && visitState != null -> VisitScreen(
                            visitState, app.services, onSubmit = visit::submit, onBack = app::closeVisit, onPreview = visit::previewSignOff,
                            onCapture = photoCapture(app.services, visit, scope),
                            // The QR payment talks to the center: off the UI thread.
                            onQrStart = { provider -> scope.launch { withContext(Dispatchers.IO) { visit.startQrPayment(provider) } } },
                            onQrPoll = { scope.launch { withContext(Dispatchers.IO) { visit.pollQrPayment() } } },
                            onQrCancel = visit::cancelQrPayment,
                        )
                        else -> TodayScreen(
                            app.today ?: TodayUiState(emptyList(), null, false),
                            onOpen = app::open,
                            onSync = {
                                app.syncStarted()
                                scope.launch {
                                    val result = withContext(Dispatchers.IO) { app.syncBlocking() }
                                    app.syncFinished(result)
                                }
                            },
                        )
                    }
                }
            }
        }
    }
}

/** Taking a photo with the platform's camera, off the UI thread; null without a camera or a watermarker (the form records it). */
private fun photoCapture(services: PlatformServices, visit: VisitStateHolder, scope: kotlinx.coroutines.CoroutineScope): ((FormState, String) -> Unit)? {
    val camera = services.camera ?: return null
    val marker = services.watermarker ?: return null
    return { form, moment ->
        scope.launch { withContext(Dispatchers.IO) { visit.capture(form, moment, camera, marker) } }
    }
}
