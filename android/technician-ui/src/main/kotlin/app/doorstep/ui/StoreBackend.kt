//! The app's backend over the phone's durable DeviceStore and the core's
//! Syncer: today's visits, a visit's screen, its action forms (described,
//! filled and decided by the core), the sign-off preview, and sync.
package app.doorstep.ui

import app.doorstep.core.CustomerSignOff
import app.doorstep.core.DeviceStore
import app.doorstep.core.DoorstepException
import app.doorstep.core.FieldValue
import app.doorstep.core.FormValue
import app.doorstep.core.LocalTimes
import app.doorstep.core.LocalizedText
import app.doorstep.core.Location
import app.doorstep.core.LocationUnavailable
import app.doorstep.core.ReportDigest
import app.doorstep.core.SyncSummary
import app.doorstep.core.Syncer
import app.doorstep.core.VisitListItem
import app.doorstep.core.VisitScreen
import app.doorstep.shell.CoreResult
import app.doorstep.shell.Language
import java.time.Clock

/**
 * The screens over the phone's store. "Today" and every time shown are the
 * business time zone's (the server's setting, which the core keeps), never
 * the phone's own.
 */
class StoreBackend(
    private val store: DeviceStore,
    private val syncer: Syncer?,
    private val clock: Clock,
) : TechnicianBackend, AutoCloseable {

    override val actions: ActionForms = StoreActionForms(store, clock)

    override val qrPayments: QrPayments? = syncer?.let { StoreQrPayments(store, it, clock) }

    override fun today(): List<VisitListItem> = store.businessDayVisits(clock.instant())

    override val times: LocalTimes
        get() = runCatching { store.localTimes() }.getOrElse { LocalTimes.inDefaultZone() }

    override fun screen(assignmentId: String): CoreResult<VisitScreen> =
        CoreResult.of { store.visitScreen(assignmentId, clock.instant()) }

    override fun pendingUploads(): Long = store.pendingUploadCount().toLong()

    override fun pendingPhotos(): Long = store.pendingPhotoCount().toLong()

    override fun sync(): CoreResult<SyncSummary> =
        syncer?.let { s -> CoreResult.of { s.syncNow(null) } } ?: CoreResult.Failed("not_enrolled", "This phone is not enrolled", "这台手机尚未登记", false)

    override fun close() {
        syncer?.close()
        store.closeStore()
        store.close()
    }
}

/** The visit's forms over the DeviceStore: the core describes them, fills the command and decides it, durably. */
class StoreActionForms(private val store: DeviceStore, private val clock: Clock) : ActionForms {
    override fun forms(assignmentId: String, language: Language): List<FormSpec> =
        when (val r = CoreResult.of { store.actionForms(assignmentId) }) {
            is CoreResult.Ok -> r.value.map { FormSpec.of(it, language) }
            is CoreResult.Failed -> emptyList()
        }

    override fun submit(assignmentId: String, action: String, values: List<SubmittedValue>, at: LocationReading.Fix?): SubmitOutcome =
        try {
            SubmitOutcome.Done(store.submitAction(assignmentId, action, values.map(::formValue), clock.instant(), at?.let(::location)))
        } catch (e: DoorstepException) {
            refusal(e)
        }

    override fun previewSignOff(assignmentId: String, signOff: CustomerSignOff): CoreResult<ReportDigest> =
        CoreResult.of { store.previewSignOff(assignmentId, signOff) }

    override fun takePhoto(
        assignmentId: String,
        moment: String,
        image: CapturedImage,
        watermarker: Watermarker,
        at: LocationReading.Fix?,
    ): SubmitOutcome = try {
        val now = clock.instant()
        val place = at?.let(::location)
        // The watermark's local time is the business zone's (the store's), as every time shown.
        val offset = runCatching { java.time.ZoneId.of(store.businessZoneName()).rules.getOffset(now).totalSeconds / 60 }.getOrDefault(480)
        val mark = store.photoWatermark(assignmentId, now, place, image.width.toUInt(), image.height.toUInt(), offset)
        val burned = watermarker.burn(image, mark)
        val photo = app.doorstep.core.ShellPhoto(moment, burned.bytes, burned.width.toUInt(), burned.height.toUInt())
        SubmitOutcome.Done(store.storePhoto(assignmentId, photo, now, place).result)
    } catch (e: DoorstepException) {
        refusal(e)
    }

    override fun reportLines(assignmentId: String): List<app.doorstep.core.ReportLine> =
        when (val r = CoreResult.of { store.reportLines(assignmentId) }) {
            is CoreResult.Ok -> r.value
            is CoreResult.Failed -> emptyList()
        }

    companion object {
        fun location(fix: LocationReading.Fix) = Location(fix.lat, fix.lon, fix.accuracyM)

        /** A collected value as the core takes it. */
        fun formValue(v: SubmittedValue): FormValue = FormValue(
            v.name,
            when (val input = v.input) {
                is FieldInput.Text -> FieldValue.Text(input.text)
                is FieldInput.Strokes -> FieldValue.Strokes(input.strokes)
                is FieldInput.Located -> when (val r = input.reading) {
                    is LocationReading.Fix -> FieldValue.Fix(location(r))
                    LocationReading.PermissionDenied -> FieldValue.NoLocation(LocationUnavailable.PERMISSION_DENIED)
                    LocationReading.NoFix -> FieldValue.NoLocation(LocationUnavailable.NO_FIX)
                }
            },
        )

        /** The core's refusal: each bad field under its name; a rule's refusal under the field it names, else for the form. */
        fun refusal(e: DoorstepException): SubmitOutcome.Refused = when (e) {
            is DoorstepException.InvalidForm -> SubmitOutcome.Refused(
                e.problems.groupBy { it.field }.mapValues { (_, ps) ->
                    LocalizedText(ps.joinToString(" ") { it.en }, ps.joinToString("") { it.zh })
                },
                null,
            )
            is DoorstepException.Refused -> e.field?.let { SubmitOutcome.Refused(mapOf(it to LocalizedText(e.en, e.zh)), null) }
                ?: SubmitOutcome.Refused(emptyMap(), LocalizedText(e.en, e.zh))
            else -> {
                val f = CoreResult.of<Unit> { throw e } as CoreResult.Failed
                SubmitOutcome.Refused(emptyMap(), LocalizedText(f.en, f.zh))
            }
        }
    }
}

/** QR payments over the core's Syncer (the server's orders) and the DeviceStore (the payment fact). */
class StoreQrPayments(private val store: DeviceStore, private val syncer: Syncer, private val clock: Clock) : QrPayments {
    override fun providers(): List<app.doorstep.core.QrProviderItem> = app.doorstep.core.qrProviders()

    override fun create(assignmentId: String, provider: String): CoreResult<app.doorstep.core.QrPayment> =
        CoreResult.of { syncer.createQrPayment(assignmentId, provider) }

    override fun status(paymentId: String): CoreResult<app.doorstep.core.QrPayment> =
        CoreResult.of { syncer.qrPayment(paymentId) }

    override fun record(payment: app.doorstep.core.QrPayment): SubmitOutcome = try {
        SubmitOutcome.Done(store.collectQrPayment(payment, clock.instant()))
    } catch (e: DoorstepException) {
        StoreActionForms.refusal(e)
    }
}
