//! The visit screen: customer card (call, maps), stage header, timers, what
//! to say, the quote, the next actions as forms, and the closed visit with
//! its callbacks. [VisitStateHolder] turns the core's records into
//! [VisitUiState]; [VisitScreen] only draws it.
package app.doorstep.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.text.font.FontWeight
import androidx.compose.ui.unit.dp
import app.doorstep.core.LocalTimes
import app.doorstep.core.VisitScreen
import app.doorstep.core.VisitStage
import app.doorstep.shell.CoreResult
import app.doorstep.shell.Language
import app.doorstep.shell.QuoteScreenState
import app.doorstep.shell.label
import app.doorstep.shell.pick
import java.time.Clock
import java.time.Duration
import java.time.Instant

/** The customer card as shown. */
data class CustomerCardState(
    val name: String,
    val phone: String?,
    val address: String?,
    val product: String?,
    val fault: String?,
    val window: String?,
    val site: Pair<Double, Double>?,
)

/** One timer line: what, at what local time, and how long from now. */
data class TimerRow(val label: String, val at: String, val remaining: String)

/** The closed visit. */
data class ClosedState(val outcome: String, val signed: Boolean, val digest: String?, val callbacks: List<String>)

/** Everything the visit screen shows. */
data class VisitUiState(
    val assignmentId: String,
    val title: String,
    val stage: VisitStage,
    val stageLabel: String,
    val trip: String,
    val progress: Float,
    val customer: CustomerCardState,
    val fieldIssues: List<String>,
    val timers: List<TimerRow>,
    /** What the standard asks the technician to do now (instructions). */
    val notices: List<String>,
    /** What to say to the customer now (the standard's spoken lines). */
    val prompts: List<String>,
    val quote: QuoteScreenState?,
    val forms: List<FormState>,
    val closed: ClosedState?,
    val refusal: String?,
    /** Pay by QR, while the visit offers to collect the payment and the phone can reach the center. */
    val qr: QrPanelState? = null,
)

/**
 * The visit screen's state holder: reads the visit from the core, keeps the
 * forms' entries across a language switch, submits a form and refreshes.
 */
class VisitStateHolder(
    private val backend: TechnicianBackend,
    val assignmentId: String,
    private val clock: Clock,
    private val times: LocalTimes,
) {
    var state by mutableStateOf<VisitUiState?>(null)
        private set
    private var language = Language.ZH
    private var screen: VisitScreen? = null
    private var forms: List<FormState> = emptyList()
    private var refusal: app.doorstep.core.LocalizedText? = null

    /** The phone's last fix on this visit (from a form's location field), sent with every later action. */
    private var lastFix: LocationReading.Fix? = null

    /** Pay by QR through the center (none on a phone that is not enrolled). */
    private val qrFlow: QrPaymentFlow? = backend.qrPayments?.let { QrPaymentFlow(it) { refresh() } }

    /** Asks the center for [provider]'s payment code of what the visit owes. Blocking (network). */
    fun startQrPayment(provider: String) {
        qrFlow?.start(assignmentId, provider)
        render()
    }

    /** Asks after the payment code's order; once paid, the payment is recorded. Blocking (network). */
    fun pollQrPayment() {
        qrFlow?.poll()
        render()
    }

    /** Takes the payment code off the screen, to take the payment another way. */
    fun cancelQrPayment() {
        qrFlow?.cancel()
        render()
    }

    /** Re-reads the visit from the core (after a command, a sync, or on open). */
    fun refresh(lang: Language = language) {
        language = lang
        when (val r = backend.screen(assignmentId)) {
            is CoreResult.Ok -> {
                screen = r.value
                forms = if (r.value.stage == VisitStage.CLOSED) emptyList() else backend.actions.forms(assignmentId, lang).map(::FormState)
                forms.filter { it.spec.isSignOff }.forEach { it.reportLines = backend.actions.reportLines(assignmentId) }
            }
            is CoreResult.Failed -> refusal = app.doorstep.core.LocalizedText(r.en, r.zh)
        }
        render()
    }

    /** Shows the visit in [lang], keeping entered values and refusals. */
    fun relabel(lang: Language) {
        language = lang
        if (forms.isNotEmpty()) {
            val specs = backend.actions.forms(assignmentId, lang).associateBy { it.action }
            forms = forms.map { f -> specs[f.spec.action]?.let(f::relabelled) ?: f }
        }
        render()
    }

    /**
     * The signing form's preview from what the customer entered: the core's
     * digest of exactly that report, ratings, comment and consent. The digest
     * shown becomes the form's `shown_digest`, so the customer signs exactly
     * what the screen showed (the core refuses if the report changed since).
     */
    fun previewSignOff(form: FormState) {
        if (!form.spec.isSignOff) return
        val quality = form.text("ratings.quality").toIntOrNull()
        val attitude = form.text("ratings.attitude").toIntOrNull()
        if (quality == null || attitude == null) {
            form.preview = null
            form.values.remove(FormSpec.SHOWN_DIGEST)
            return
        }
        val comment = form.text("comment").trim().ifEmpty { null }
        val consent = form.text("consent_text")
        val strokes = (form.values["strokes"] as? FieldInput.Strokes)?.strokes.orEmpty()
        val signOff = app.doorstep.core.CustomerSignOff(quality.toUByte(), attitude.toUByte(), comment, strokes, consent, null)
        when (val r = backend.actions.previewSignOff(assignmentId, signOff)) {
            is CoreResult.Ok -> {
                form.preview = SignOffPreview(quality, attitude, comment, consent, r.value)
                form.values[FormSpec.SHOWN_DIGEST] = FieldInput.Text(r.value.full)
            }
            is CoreResult.Failed -> form.formError = app.doorstep.core.LocalizedText(r.en, r.zh)
        }
    }

    /**
     * Takes the photo of [moment] with the platform [camera] and records it
     * (the watermark burned in by [watermarker]); the technician may cancel.
     * Blocking (the camera, the store).
     */
    fun capture(form: FormState, moment: String, camera: Camera, watermarker: Watermarker) {
        val image = camera.take(moment) ?: return
        form.busy = true
        val outcome = backend.actions.takePhoto(assignmentId, moment, image, watermarker, lastFix)
        form.busy = false
        settle(form, outcome)
    }

    /** On success the visit moves on (read again); on refusal the core's texts go under [form]'s fields. */
    private fun settle(form: FormState, outcome: SubmitOutcome) {
        when (outcome) {
            is SubmitOutcome.Done -> {
                refusal = null
                refresh()
            }
            is SubmitOutcome.Refused -> form.showRefusal(outcome.fields, outcome.whole)
        }
    }

    /** Submits [form]; on success the visit moves on, on refusal the core's texts go under their fields. */
    fun submit(form: FormState) {
        form.busy = true
        val values = form.submission()
        values.firstNotNullOfOrNull { (it.input as? FieldInput.Located)?.reading as? LocationReading.Fix }?.let { lastFix = it }
        val outcome = backend.actions.submit(assignmentId, form.spec.action, values, lastFix)
        form.busy = false
        settle(form, outcome)
    }

    private fun render() {
        val sc = screen ?: return
        val lang = language
        val s = UiStrings.of(lang)
        val now = clock.instant()
        val c = sc.customer
        fun timer(label: String, at: Instant?): TimerRow? = at?.let {
            val min = Duration.between(now, it).toMinutes()
            TimerRow(label, times.clockTime(it), if (min <= 0) s.now else s.inMinutes(min))
        }
        val t = sc.timers
        state = VisitUiState(
            assignmentId = assignmentId,
            title = sc.tradeName.pick(lang),
            stage = sc.stage,
            stageLabel = sc.outcome?.label(lang) ?: sc.stage.label(lang),
            trip = s.trip(sc.trip.toInt()),
            progress = (VisitStage.entries.indexOf(sc.stage) + 1f) / VisitStage.entries.size,
            customer = CustomerCardState(
                name = c?.name ?: s.notGiven,
                phone = c?.phone,
                address = c?.address,
                product = c?.productModel,
                fault = c?.faultDescription,
                window = (c?.window ?: sc.window)?.let { times.window(it).pick(lang) },
                site = c?.location?.let { it.lat to it.lon },
            ),
            fieldIssues = sc.fieldIssues.map { it.text.pick(lang) },
            timers = if (sc.stage == VisitStage.CLOSED) emptyList() else listOfNotNull(
                timer(s.leaveBy, t.departBy).takeIf { sc.stage == VisitStage.SCHEDULED || sc.stage == VisitStage.INTAKE },
                timer(s.nextKnock, t.nextKnockAt),
                timer(s.callCustomerAt, t.callCustomerAt),
                timer(s.absentAllowedAt, t.absentAllowedAt),
            ),
            notices = sc.prompts.filterNot { it.spoken }.map { it.text.pick(lang) },
            prompts = sc.prompts.filter { it.spoken }.map { it.text.pick(lang) },
            quote = sc.quote?.let { QuoteScreenState.of(it, lang) },
            forms = forms,
            closed = if (sc.stage == VisitStage.CLOSED) {
                ClosedState(
                    outcome = sc.outcome?.label(lang) ?: sc.stage.label(lang),
                    signed = sc.signed,
                    digest = sc.reportDigest?.short,
                    callbacks = t.callbacks.map { cb -> "${CallbackReasons.label(cb.reason, lang)} · ${times.dateTime(cb.dueAt).pick(lang)}" },
                )
            } else {
                null
            },
            refusal = refusal?.pick(lang),
            qr = qrFlow?.takeIf { forms.any { it.spec.action == COLLECT_PAYMENT } }?.state(lang, s.qrOfflineHint),
        )
    }
}

/** The action whose form the QR payment panel stands beside. */
private const val COLLECT_PAYMENT = "collect_payment"

/** Callback reasons in words (the core names them by code). */
object CallbackReasons {
    fun label(reason: String, lang: Language): String {
        val (zh, en) = when (reason) {
            "remote_guidance" -> "远程指导后回访" to "Follow-up after remote guidance"
            "untested_repair" -> "未试机维修回访" to "Follow-up on an untested repair"
            "second_level" -> "二级技术支持回访" to "Second-level follow-up"
            "satisfaction" -> "满意度回访" to "Satisfaction call"
            else -> "回访" to "Follow-up call"
        }
        return if (lang == Language.EN) en else zh
    }
}

/** The visit screen. Stateless: [state] in, callbacks out. */
@Composable
fun VisitScreen(
    state: VisitUiState,
    services: PlatformServices,
    onSubmit: (FormState) -> Unit,
    onBack: () -> Unit,
    modifier: Modifier = Modifier,
    onPreview: (FormState) -> Unit = {},
    onCapture: ((FormState, String) -> Unit)? = null,
    onQrStart: (String) -> Unit = {},
    onQrPoll: () -> Unit = {},
    onQrCancel: () -> Unit = {},
) {
    val s = LocalStrings.current
    Column(
        modifier.fillMaxSize().verticalScroll(rememberScrollState()).padding(12.dp).testTag("visit-screen"),
        verticalArrangement = Arrangement.spacedBy(12.dp),
    ) {
        BigOutlinedButton(s.back, onClick = onBack, modifier = Modifier.testTag("back"))
        StageHeader(state)
        CustomerCard(state.customer, services)
        if (state.fieldIssues.isNotEmpty()) Section(s.fieldIssues) { state.fieldIssues.forEach { ErrorText(it) } }
        state.refusal?.let { ErrorText(it) }
        if (state.timers.isNotEmpty()) {
            Section(s.stage) {
                state.timers.forEach { t ->
                    Row(Modifier.fillMaxWidth(), horizontalArrangement = Arrangement.SpaceBetween) {
                        UiText(t.label, Modifier.weight(1f))
                        Column(horizontalAlignment = androidx.compose.ui.Alignment.End) {
                            UiText(t.at, fontWeight = FontWeight.Bold, maxLines = 1)
                            UiText(t.remaining, style = MaterialTheme.typography.bodySmall, maxLines = 1)
                        }
                    }
                }
            }
        }
        if (state.notices.isNotEmpty()) Section(s.nowDo) { state.notices.forEach { UiText(it) } }
        if (state.prompts.isNotEmpty()) Section(s.whatToSay) { state.prompts.forEach { UiText("“$it”") } }
        state.quote?.let { QuoteCard(it) }
        state.closed?.let { ClosedCard(it) }
        state.qr?.let { QrPaymentPanel(it, onQrStart, onQrPoll, onQrCancel) }
        state.forms.forEach { ActionForm(it, services.location, onSubmit, Modifier.testTag("form:${it.spec.action}"), onPreview, onCapture) }
    }
}

@Composable
private fun StageHeader(state: VisitUiState) {
    Column(verticalArrangement = Arrangement.spacedBy(4.dp)) {
        UiText(state.title, style = MaterialTheme.typography.headlineSmall, maxLines = 1)
        Row(Modifier.fillMaxWidth(), horizontalArrangement = Arrangement.SpaceBetween) {
            UiText(state.stageLabel, style = MaterialTheme.typography.titleMedium, maxLines = 1, modifier = Modifier.testTag("stage"))
            UiText(state.trip, style = MaterialTheme.typography.bodyMedium, maxLines = 1)
        }
        LinearProgressIndicator(progress = { state.progress }, modifier = Modifier.fillMaxWidth())
    }
}

@Composable
private fun CustomerCard(c: CustomerCardState, services: PlatformServices) {
    val s = LocalStrings.current
    Section(s.customer) {
        UiText(c.name, style = MaterialTheme.typography.titleLarge)
        InfoLine(s.window, c.window)
        InfoLine(s.address, c.address)
        // The center masks the customer's number until a privacy number is bound (138****8000): not dialable.
        val dialable = c.phone?.takeUnless { '*' in it }
        InfoLine(s.phone, c.phone)
        if (c.phone != null && dialable == null) UiText(s.phoneMasked, style = MaterialTheme.typography.bodySmall)
        InfoLine(s.product, c.product)
        InfoLine(s.fault, c.fault)
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            BigButton(s.call, onClick = { dialable?.let(services.dialer::dial) }, enabled = dialable != null, modifier = Modifier.weight(1f).testTag("call"))
            BigOutlinedButton(
                s.openInMaps,
                onClick = { services.maps.open(MapApp.AMAP, MapTarget(c.address, c.site)) },
                enabled = c.address != null || c.site != null,
                modifier = Modifier.weight(1f).testTag("maps"),
            )
        }
    }
}

@Composable
private fun InfoLine(label: String, value: String?) {
    val s = LocalStrings.current
    Row(Modifier.fillMaxWidth()) {
        UiText(label, Modifier.weight(0.3f), color = MaterialTheme.colorScheme.onSurfaceVariant)
        UiText(value ?: s.notGiven, Modifier.weight(0.7f))
    }
}

@Composable
private fun QuoteCard(q: QuoteScreenState) {
    val s = LocalStrings.current
    Section(s.quote) {
        q.rows.forEach { r ->
            Row(Modifier.fillMaxWidth(), horizontalArrangement = Arrangement.SpaceBetween) {
                UiText("${r.item} × ${r.qty}", Modifier.weight(1f))
                UiText(if (r.coveredByWarranty) "${r.amount}(${s.warrantyCovers})" else r.amount, Modifier.padding(start = 8.dp))
            }
        }
        HorizontalDivider()
        q.covered?.let { InfoLine(s.warrantyCovers, it) }
        Row(Modifier.fillMaxWidth(), horizontalArrangement = Arrangement.SpaceBetween) {
            UiText(s.customerPays, fontWeight = FontWeight.Bold)
            UiText(q.customerTotal, fontWeight = FontWeight.Bold, modifier = Modifier.testTag("quote-total"))
        }
        if (q.accepted) UiText(s.accepted, color = MaterialTheme.colorScheme.secondary)
    }
}

@Composable
private fun ClosedCard(c: ClosedState) {
    val s = LocalStrings.current
    Section(s.closedTitle, Modifier.testTag("closed")) {
        InfoLine(s.outcome, c.outcome)
        if (c.signed) UiText(s.signedOff, color = MaterialTheme.colorScheme.secondary)
        c.digest?.let { InfoLine(s.reportDigest, it) }
        UiText(s.callbacks, fontWeight = FontWeight.Medium)
        if (c.callbacks.isEmpty()) UiText(s.noCallbacks) else c.callbacks.forEach { UiText("· $it") }
    }
}
