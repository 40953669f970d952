package app.doorstep.android

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.ListItem
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp

/** Today's visits, by window start, under the sync badge (which carries the not-yet-synced count). */
@Composable
fun TodayScreen(vm: VisitViewModel) {
    val state by vm.today.collectAsState()
    val badge by vm.badge.collectAsState()
    Column(Modifier.padding(16.dp)) {
        SyncBadge(badge, onSyncNow = vm::syncNow)
        Text(stringResource(R.string.today))
        Text(stringResource(R.string.open_count, state.openCount))
        if (state.rows.isEmpty()) Text(stringResource(R.string.no_visits))
        LazyColumn {
            items(state.rows, key = { it.assignmentId }) { row ->
                ListItem(
                    headlineContent = { Text("${row.window}  ${row.title}") },
                    supportingContent = { Text(row.status) },
                    modifier = Modifier.clickable { vm.openVisit(row.assignmentId) },
                )
            }
        }
    }
}
