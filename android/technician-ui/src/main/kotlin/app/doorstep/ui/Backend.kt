//! What the screens ask of the core, as one interface: today's visits, a
//! visit's screen and its action forms, submitting a form, and sync. The app
//! implements it over the durable DeviceStore (StoreBackend); tests may too.
package app.doorstep.ui

import app.doorstep.core.CommandResult
import app.doorstep.core.LocalizedText
import app.doorstep.core.SyncSummary
import app.doorstep.core.VisitListItem
import app.doorstep.core.VisitScreen
import app.doorstep.shell.CoreResult
import app.doorstep.shell.Language

/** The customer as the order gives them, for the visit's customer card (null: not in the order). */
data class CustomerInfo(
    val name: String?,
    val phone: String?,
    val address: String?,
    val product: String?,
    val fault: String?,
    /** The site in WGS-84 when the order has it. */
    val site: Pair<Double, Double>?,
)

/** The outcome of submitting one action's form. */
sealed interface SubmitOutcome {
    data class Done(val result: CommandResult) : SubmitOutcome

    /** The core refused fields (by dotted name) and/or the action as a whole. */
    data class Refused(val fields: Map<String, LocalizedText>, val whole: LocalizedText?) : SubmitOutcome
}

/** The actions a visit offers now, as forms, and submitting one (the core fills the command from the values). */
interface ActionForms {
    /** The forms of the actions the visit offers now, labelled in [language]. */
    fun forms(visitId: String, language: Language): List<FormSpec>

    fun submit(visitId: String, action: String, values: List<SubmittedValue>): SubmitOutcome
}

interface TechnicianBackend {
    /** The visit's actions as forms; null when this build of the core describes none (the screen then only shows the visit). */
    val actions: ActionForms?

    /** Today's visits on this phone, by window start. */
    fun today(): List<VisitListItem>

    fun screen(assignmentId: String): CoreResult<VisitScreen>

    fun customer(assignmentId: String): CustomerInfo

    /** One sync with the server. Blocking (network): call it off the UI thread. */
    fun sync(): CoreResult<SyncSummary>
}
