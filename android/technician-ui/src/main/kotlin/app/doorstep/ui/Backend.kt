//! What the screens ask of the core, as one interface: today's visits, a
//! visit's screen and its action forms, submitting a form, and sync. The app
//! implements it over the durable DeviceStore (StoreBackend); tests may too.
package app.doorstep.ui

import app.doorstep.core.CommandResult
import app.doorstep.core.CustomerSignOff
import app.doorstep.core.LocalizedText
import app.doorstep.core.ReportDigest
import app.doorstep.core.SyncSummary
import app.doorstep.core.VisitListItem
import app.doorstep.core.VisitScreen
import app.doorstep.shell.CoreResult
import app.doorstep.shell.Language

/** The outcome of submitting one action's form. */
sealed interface SubmitOutcome {
    data class Done(val result: CommandResult) : SubmitOutcome

    /** The core refused fields (by dotted name) and/or the action as a whole. */
    data class Refused(val fields: Map<String, LocalizedText>, val whole: LocalizedText?) : SubmitOutcome
}

/** The actions a visit offers now, as forms, and submitting one (the core fills the command from the values). */
interface ActionForms {
    /** The forms of the actions the visit offers now, labelled in [language]. */
    fun forms(assignmentId: String, language: Language): List<FormSpec>

    /**
     * Fills [action]'s form with [values] and records the command; [at] is
     * the phone's last fix, for the rules that check where it happened.
     */
    fun submit(assignmentId: String, action: String, values: List<SubmittedValue>, at: LocationReading.Fix?): SubmitOutcome

    /** The core's digest of exactly what the customer would sign with these ratings, comment and consent. */
    fun previewSignOff(assignmentId: String, signOff: CustomerSignOff): CoreResult<ReportDigest>

    /** The report the customer is about to sign, a labelled line per fact, as the core reads it out. */
    fun reportLines(assignmentId: String): List<app.doorstep.core.ReportLine> = emptyList()

    /**
     * Records the photo of [moment]: the core's watermark burned in by
     * [watermarker], the bytes kept (uploaded by the next sync), the fact
     * recorded for the moment; [at] is the phone's last fix.
     */
    fun takePhoto(assignmentId: String, moment: String, image: CapturedImage, watermarker: Watermarker, at: LocationReading.Fix?): SubmitOutcome =
        SubmitOutcome.Refused(emptyMap(), LocalizedText("This phone keeps no photos.", "这台手机不能保存照片。"))
}

/**
 * Pay by QR at the door through the center: a provider's order of what the
 * visit owes (created by the server, never by the phone), asked after until
 * paid, then recorded as the visit's payment. Blocking (network): call it
 * off the UI thread.
 */
interface QrPayments {
    /** The providers to offer, in order (WeChat Pay, Alipay). */
    fun providers(): List<app.doorstep.core.QrProviderItem>

    /** Syncs, then asks the server for [provider]'s order of the amount the visit owes. */
    fun create(assignmentId: String, provider: String): CoreResult<app.doorstep.core.QrPayment>

    /** The order as the server holds it now. */
    fun status(paymentId: String): CoreResult<app.doorstep.core.QrPayment>

    /** Records the paid order as the visit's payment (the core's payment rules decide). */
    fun record(payment: app.doorstep.core.QrPayment): SubmitOutcome
}

interface TechnicianBackend {
    /** The visit's actions as forms, and submitting them. */
    val actions: ActionForms

    /** Today's visits on this phone, by window start. */
    fun today(): List<VisitListItem>

    fun screen(assignmentId: String): CoreResult<VisitScreen>

    /** QR payments through the center; null when this phone is not enrolled (no server to ask). */
    val qrPayments: QrPayments?
        get() = null

    /** How many photos wait for upload (their bytes are kept until the server has them). */
    fun pendingPhotos(): Long = 0

    /** How many recorded events wait for upload. */
    fun pendingUploads(): Long

    /** One sync with the server. Blocking (network): call it off the UI thread. */
    fun sync(): CoreResult<SyncSummary>

    /** Every time the screens show, formatted by the core in the business time zone (the default zone until a sync brings the company's). */
    val times: app.doorstep.core.LocalTimes
        get() = app.doorstep.core.LocalTimes.inDefaultZone()
}
