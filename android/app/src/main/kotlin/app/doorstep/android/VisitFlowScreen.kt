package app.doorstep.android

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.Checkbox
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import app.doorstep.core.VisitStage
import app.doorstep.shell.Commands
import app.doorstep.shell.KnockTimerState
import kotlinx.coroutines.delay

/**
 * The visit flow: prompts from the standard, the next actions (required
 * first), the kit and appearance checklists, the knock timer at the door,
 * the quote and the signature pad when the visit offers them. Commands that
 * need input beyond a tap (diagnosis, work, payment) open their forms; those
 * forms only fill in `Commands` builders.
 */
@Composable
fun VisitFlowScreen(vm: VisitViewModel) {
    val state by vm.flow.collectAsState()
    val refusal by vm.refusal.collectAsState()
    val badge by vm.badge.collectAsState()
    val s = state ?: return
    // The knock timer ticks once a second while at the door.
    if (s.stage == VisitStage.AT_DOOR) {
        LaunchedEffect(s) {
            while (true) {
                delay(1_000)
                vm.refreshVisit()
            }
        }
    }
    Column(Modifier.padding(16.dp).verticalScroll(rememberScrollState())) {
        OutlinedButton(onClick = { vm.openVisit(null); vm.refreshToday() }) { Text(stringResource(R.string.back)) }
        SyncBadge(badge, onSyncNow = vm::syncNow)
        Text("${s.title} · ${s.stageLabel}")
        refusal?.let { Text(it) }
        s.prompts.forEach { Text(it) }
        s.knockTimer?.let { KnockTimer(it) }
        if (s.offers("check_kit_item")) {
            Text(stringResource(R.string.kit))
            s.kit.forEach { row ->
                Row {
                    Checkbox(checked = row.done, onCheckedChange = { if (!row.done) vm.send(Commands.checkKitItem(row.id)) })
                    Text(row.label)
                }
            }
        }
        if (s.offers("check_appearance")) {
            Text(stringResource(R.string.appearance))
            s.appearance.forEach { Text("• ${it.label}") }
            Button(onClick = { vm.send(Commands.checkAppearance(s.appearance.map { it.id })) }) { Text(stringResource(R.string.check_all)) }
        }
        s.quote?.let { QuoteSection(it, onAccept = { vm.send(Commands.acceptQuote(it.revision)) }, onRefuse = { vm.send(Commands.refuseQuote("customer")) }) }
        if (s.offers("sign_off")) SignatureSection(vm, s.reportDigestShort)
        s.primary?.let { a -> if (a.command in oneTap) Button(onClick = { vm.send(oneTap.getValue(a.command)()) }) { Text(a.label) } }
        s.others.filter { it.command in oneTap }.forEach { a ->
            OutlinedButton(onClick = { vm.send(oneTap.getValue(a.command)()) }) { Text(a.label) }
        }
        s.closedAs?.let { Text(it) }
    }
}

/** Commands that need no input beyond the tap. */
private val oneTap: Map<String, () -> String> = mapOf(
    "knock" to { Commands.knock() },
    "door_answered" to { Commands.doorAnswered() },
    "enter" to { Commands.enter() },
    "put_on_shoe_covers" to { Commands.putOnShoeCovers() },
    "lay_drop_cloth" to { Commands.layDropCloth() },
    "show_fee_schedule" to { Commands.showFeeSchedule() },
    "brief_customer" to { Commands.briefCustomer() },
    "clean_up" to { Commands.cleanUp() },
    "leave" to { Commands.leave() },
)

@Composable
private fun KnockTimer(t: KnockTimerState) {
    val knock = t.knockInSeconds
    Text(if (t.canKnockNow) stringResource(R.string.knock_now) else stringResource(R.string.knock_in, (knock ?: 0L).toInt()))
    t.callCustomerInSeconds?.takeIf { it > 0 }?.let { Text(stringResource(R.string.call_in, it.toInt())) }
    t.absentAllowedInSeconds?.takeIf { it > 0 }?.let { Text(stringResource(R.string.absent_in, it.toInt())) }
}
