package app.doorstep.ui

import app.doorstep.core.CommandResult
import app.doorstep.core.CustomerSignOff
import app.doorstep.core.ReportDigest
import app.doorstep.core.SyncSummary
import app.doorstep.core.VisitListItem
import app.doorstep.core.VisitScreen
import app.doorstep.shell.CoreResult
import app.doorstep.shell.Language

/** A backend with fixed answers, for screenshots of states. */
class FakeBackend(
    var screen: VisitScreen,
    val formsOf: (Language) -> List<FormSpec>,
    val list: List<VisitListItem> = emptyList(),
) : TechnicianBackend, ActionForms {
    override val actions: ActionForms get() = this
    val submitted = mutableListOf<Pair<String, List<SubmittedValue>>>()
    var answer: (String, List<SubmittedValue>) -> SubmitOutcome = { _, _ -> SubmitOutcome.Done(CommandResult(emptyList(), screen)) }

    override fun today() = list
    override fun screen(assignmentId: String) = CoreResult.Ok(screen)
    override fun forms(assignmentId: String, language: Language) = formsOf(language)
    override fun previewSignOff(assignmentId: String, signOff: CustomerSignOff): CoreResult<ReportDigest> =
        CoreResult.Ok(ReportDigest("ab".repeat(32), "abababab"))
    override fun submit(assignmentId: String, action: String, values: List<SubmittedValue>, at: LocationReading.Fix?): SubmitOutcome {
        submitted += action to values
        return answer(action, values)
    }
    override fun pendingUploads() = submitted.size.toLong()
    override fun sync(): CoreResult<SyncSummary> = error("no server behind the fake backend")
}
