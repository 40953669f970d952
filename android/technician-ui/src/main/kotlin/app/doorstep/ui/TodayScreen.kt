//! Today's list: one big row per visit (customer, address, window, stage),
//! and "sync now". [TodayUiState.of] builds it from the core's list.
package app.doorstep.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.defaultMinSize
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Card
import androidx.compose.material3.MaterialTheme
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.text.font.FontWeight
import androidx.compose.ui.unit.dp
import app.doorstep.core.LocalTimes
import app.doorstep.core.VisitListItem
import app.doorstep.core.VisitStage
import app.doorstep.shell.Language
import app.doorstep.shell.label
import app.doorstep.shell.pick

/** One row of today's list. */
data class TodayRowState(
    val assignmentId: String,
    val customer: String,
    val address: String?,
    val window: String?,
    val status: String,
    val done: Boolean,
    val conflict: Boolean,
)

/** Today's list screen. */
data class TodayUiState(val rows: List<TodayRowState>, val syncLine: String?, val syncing: Boolean) {
    val openCount: Int get() = rows.count { !it.done }

    companion object {
        fun of(visits: List<VisitListItem>, lang: Language, times: LocalTimes, syncLine: String?, syncing: Boolean): TodayUiState {
            val s = UiStrings.of(lang)
            return TodayUiState(
                visits.map { v ->
                    TodayRowState(
                        assignmentId = v.assignmentId,
                        customer = v.customerName ?: s.notGiven,
                        address = v.address,
                        window = v.window?.let { times.clockWindow(it).pick(lang) },
                        status = v.outcome?.label(lang) ?: v.stage.label(lang),
                        done = v.closed || v.stage == VisitStage.CLOSED,
                        conflict = v.conflict,
                    )
                },
                syncLine,
                syncing,
            )
        }
    }
}

@Composable
fun TodayScreen(state: TodayUiState, onOpen: (String) -> Unit, onSync: () -> Unit, modifier: Modifier = Modifier) {
    val s = LocalStrings.current
    Column(
        modifier.fillMaxSize().verticalScroll(rememberScrollState()).padding(12.dp).testTag("today-screen"),
        verticalArrangement = Arrangement.spacedBy(12.dp),
    ) {
        Row(Modifier.fillMaxWidth(), horizontalArrangement = Arrangement.SpaceBetween) {
            UiText(s.todayTitle, style = MaterialTheme.typography.headlineSmall, maxLines = 1)
            UiText(s.openCount(state.openCount), style = MaterialTheme.typography.titleMedium, maxLines = 1)
        }
        BigButton(if (state.syncing) s.syncing else s.syncNow, onClick = onSync, enabled = !state.syncing, modifier = Modifier.testTag("sync"))
        state.syncLine?.let { UiText(it, style = MaterialTheme.typography.bodyMedium, modifier = Modifier.testTag("sync-line")) }
        if (state.rows.isEmpty()) UiText(s.noVisits)
        state.rows.forEach { r ->
            Card(
                Modifier.fillMaxWidth().defaultMinSize(minHeight = TouchTarget).clickable { onOpen(r.assignmentId) }
                    .testTag("visit:${r.assignmentId}"),
            ) {
                Column(Modifier.padding(16.dp), verticalArrangement = Arrangement.spacedBy(4.dp)) {
                    Row(Modifier.fillMaxWidth(), horizontalArrangement = Arrangement.SpaceBetween) {
                        UiText(r.customer, style = MaterialTheme.typography.titleMedium, fontWeight = FontWeight.Bold, maxLines = 1, modifier = Modifier.weight(1f))
                        UiText(r.status, color = if (r.done) MaterialTheme.colorScheme.secondary else MaterialTheme.colorScheme.primary, maxLines = 1)
                    }
                    r.window?.let { UiText(it) }
                    r.address?.let { UiText(it, style = MaterialTheme.typography.bodyMedium) }
                    if (r.conflict) ErrorText(s.conflict)
                }
            }
        }
    }
}
