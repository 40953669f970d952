package app.doorstep.shell

import app.doorstep.core.ActionForm
import app.doorstep.core.CommandResult
import app.doorstep.core.CustomerSignOff
import app.doorstep.core.FormValue
import app.doorstep.core.Location
import app.doorstep.core.ReportDigest
import app.doorstep.core.VisitOutcome
import app.doorstep.core.VisitScreen
import app.doorstep.core.VisitSession
import app.doorstep.core.VisitStage
import app.doorstep.core.Window
import java.time.Clock
import java.time.Instant

/** One line of today's list. */
data class VisitSummary(
    val assignmentId: String,
    val trade: String,
    val tradeNameEn: String,
    val tradeNameZh: String,
    val window: Window?,
    val stage: VisitStage,
    val outcome: VisitOutcome?,
)

/**
 * What the screens ask of the core. Every rule stays in Rust: the repository
 * only routes commands to the right visit, stamps them with the clock, and
 * turns core errors into [CoreResult.Failed] for the UI.
 */
interface VisitRepository {
    /** A new or changed assignment from the center (JSON object, as the center sends it). */
    fun receiveAssignment(assignmentJson: String): CoreResult<VisitScreen>

    /** Today's visits, by window start. */
    fun today(): List<VisitSummary>

    fun screen(assignmentId: String): CoreResult<VisitScreen>

    fun apply(assignmentId: String, commandJson: String, location: Location? = null): CoreResult<CommandResult>

    /** The form of every action the visit offers now (render any of them generically). */
    fun forms(assignmentId: String): CoreResult<List<ActionForm>>

    /**
     * Submits [values] for [action]'s form: the core fills the command and
     * applies it. A bad field fails with `invalid_form` (see [formProblems]).
     */
    fun submit(assignmentId: String, action: String, values: List<FormValue>, location: Location? = null): CoreResult<CommandResult>

    /** The digest of exactly what the customer would sign with these ratings, for the signing screen. */
    fun previewSignOff(assignmentId: String, signOff: CustomerSignOff): CoreResult<ReportDigest>

    fun signOff(assignmentId: String, signOff: CustomerSignOff, location: Location? = null): CoreResult<CommandResult>

    fun declineSignature(assignmentId: String, reason: String, location: Location? = null): CoreResult<CommandResult>
}

/**
 * Visits held in memory through [VisitSession] objects, all under one
 * trade's shipped playbook: demos and training. The app uses
 * [StoreVisitRepository].
 */
class InMemoryVisitRepository(
    private val tradeId: String,
    private val deviceId: String,
    private val technicianName: String,
    private val clock: Clock = Clock.systemUTC(),
) : VisitRepository, AutoCloseable {
    private val sessions = linkedMapOf<String, VisitSession>()

    private fun now(): Instant = clock.instant()

    override fun receiveAssignment(assignmentJson: String): CoreResult<VisitScreen> = CoreResult.of {
        // The same assignment id always goes to the same visit (a change is a new version).
        val probe = VisitSession(tradeId, deviceId, technicianName)
        val result = try {
            probe.receiveAssignment(assignmentJson, now())
        } catch (e: Throwable) {
            probe.close()
            throw e
        }
        val id = result.screen.assignmentId ?: error("an accepted assignment has an id")
        val existing = sessions[id]
        if (existing != null) {
            probe.close()
            existing.receiveAssignment(assignmentJson, now()).screen
        } else {
            sessions[id] = probe
            result.screen
        }
    }

    override fun today(): List<VisitSummary> = sessions.map { (id, s) ->
        val screen = s.screen(now())
        VisitSummary(id, screen.trade, screen.tradeName.en, screen.tradeName.zh, screen.window, screen.stage, screen.outcome)
    }.sortedBy { it.window?.start ?: Instant.MAX }

    override fun screen(assignmentId: String): CoreResult<VisitScreen> = CoreResult.of { session(assignmentId).screen(now()) }

    override fun apply(assignmentId: String, commandJson: String, location: Location?) =
        CoreResult.of { session(assignmentId).apply(commandJson, now(), location) }

    override fun forms(assignmentId: String) = CoreResult.of { session(assignmentId).actionForms() }

    override fun submit(assignmentId: String, action: String, values: List<FormValue>, location: Location?) =
        CoreResult.of { session(assignmentId).submitAction(action, values, now(), location) }

    override fun previewSignOff(assignmentId: String, signOff: CustomerSignOff) =
        CoreResult.of { session(assignmentId).previewSignOff(signOff) }

    override fun signOff(assignmentId: String, signOff: CustomerSignOff, location: Location?) =
        CoreResult.of { session(assignmentId).signOff(signOff, now(), location) }

    override fun declineSignature(assignmentId: String, reason: String, location: Location?) =
        CoreResult.of { session(assignmentId).declineSignature(reason, now(), location) }

    private fun session(id: String): VisitSession =
        sessions[id] ?: throw NoSuchElementException("no visit for assignment $id on this device")

    override fun close() {
        sessions.values.forEach { it.close() }
        sessions.clear()
    }
}
