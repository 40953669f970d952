package app.doorstep.shell

import app.doorstep.core.ActionForm
import app.doorstep.core.CommandResult
import app.doorstep.core.FormValue
import app.doorstep.core.CustomerSignOff
import app.doorstep.core.DeviceStore
import app.doorstep.core.Location
import app.doorstep.core.ReportDigest
import app.doorstep.core.VisitScreen
import java.time.Clock

/**
 * The app's repository: the durable local store on the phone. Every command
 * is committed by the core in one transaction (event, projection, outbox)
 * before the screen updates, so a crash or a flat battery loses nothing the
 * technician saw accepted.
 *
 * [utcOffsetMinutes] decides which day "today" is (480 for China).
 */
class StoreVisitRepository(
    private val store: DeviceStore,
    private val clock: Clock = Clock.systemUTC(),
    private val utcOffsetMinutes: Int = 480,
) : VisitRepository, AutoCloseable {

    override fun receiveAssignment(assignmentJson: String): CoreResult<VisitScreen> =
        CoreResult.of { store.receiveAssignment(assignmentJson, clock.instant()) }

    override fun today(): List<VisitSummary> = store.todaysVisits(clock.instant(), utcOffsetMinutes).map { v ->
        val name = tradeNames[v.trade]
        VisitSummary(v.assignmentId, v.trade, name?.en ?: v.trade, name?.zh ?: v.trade, v.window, v.stage, v.outcome)
    }

    override fun screen(assignmentId: String): CoreResult<VisitScreen> =
        CoreResult.of { store.visitScreen(assignmentId, clock.instant()) }

    override fun apply(assignmentId: String, commandJson: String, location: Location?): CoreResult<CommandResult> =
        CoreResult.of { store.applyCommand(assignmentId, commandJson, clock.instant(), location) }

    override fun forms(assignmentId: String): CoreResult<List<ActionForm>> =
        CoreResult.of { store.actionForms(assignmentId) }

    override fun submit(assignmentId: String, action: String, values: List<FormValue>, location: Location?): CoreResult<CommandResult> =
        CoreResult.of { store.submitAction(assignmentId, action, values, clock.instant(), location) }

    override fun previewSignOff(assignmentId: String, signOff: CustomerSignOff): CoreResult<ReportDigest> =
        CoreResult.of { store.previewSignOff(assignmentId, signOff) }

    override fun signOff(assignmentId: String, signOff: CustomerSignOff, location: Location?): CoreResult<CommandResult> =
        CoreResult.of { store.signOff(assignmentId, signOff, clock.instant(), location) }

    override fun declineSignature(assignmentId: String, reason: String, location: Location?): CoreResult<CommandResult> =
        CoreResult.of { store.declineSignature(assignmentId, reason, clock.instant(), location) }

    /** Events recorded on this phone that the server has not acknowledged yet. */
    fun pendingUploads(): Long = store.pendingUploadCount().toLong()

    /** Closes the database, then releases the native object. */
    override fun close() {
        store.closeStore()
        store.close()
    }

    private companion object {
        val tradeNames by lazy { app.doorstep.core.shippedPlaybooks().associate { it.id to it.name } }
    }
}
