//! The app's backend over the phone's durable DeviceStore and the core's
//! Syncer: today's visits, a visit's screen and customer, and sync.
package app.doorstep.ui

import app.doorstep.core.DeviceStore
import app.doorstep.core.SyncSummary
import app.doorstep.core.Syncer
import app.doorstep.core.VisitListItem
import app.doorstep.core.VisitScreen
import app.doorstep.shell.CoreResult
import java.time.Clock

/**
 * [utcOffsetMinutes] decides which day "today" is (480 for China).
 * [actions] renders and submits the visit's forms when the core describes them.
 */
class StoreBackend(
    private val store: DeviceStore,
    private val syncer: Syncer?,
    private val clock: Clock,
    private val utcOffsetMinutes: Int,
    override val actions: ActionForms? = null,
) : TechnicianBackend, AutoCloseable {

    override fun today(): List<VisitListItem> = store.todaysVisits(clock.instant(), utcOffsetMinutes)

    override fun screen(assignmentId: String): CoreResult<VisitScreen> =
        CoreResult.of { store.visitScreen(assignmentId, clock.instant()) }

    /** What the core gives of the customer today: name and address from the visit list. */
    override fun customer(assignmentId: String): CustomerInfo {
        val item = today().firstOrNull { it.assignmentId == assignmentId }
        return CustomerInfo(item?.customerName, null, item?.address, null, null, null)
    }

    override fun sync(): CoreResult<SyncSummary> =
        syncer?.let { s -> CoreResult.of { s.syncNow(null) } } ?: CoreResult.Failed("not_enrolled", "This phone is not enrolled", "这台手机尚未登记", false)

    override fun close() {
        syncer?.close()
        store.closeStore()
        store.close()
    }
}
