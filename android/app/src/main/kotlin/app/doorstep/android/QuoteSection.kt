package app.doorstep.android

import androidx.compose.foundation.layout.Column
import androidx.compose.material3.Button
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.ui.res.stringResource
import app.doorstep.shell.QuoteScreenState

/** The quote as the customer sees it: lines, who pays, the total, the revision accepted. */
@Composable
fun QuoteSection(q: QuoteScreenState, onAccept: () -> Unit, onRefuse: () -> Unit) {
    Column {
        Text(stringResource(R.string.quote) + " · " + stringResource(R.string.revision, q.revision.toInt()))
        q.rows.forEach { r -> Text("${r.item} × ${r.qty}   ${r.amount}" + if (r.coveredByWarranty) " (warranty)" else "") }
        q.covered?.let { Text("– $it") }
        Text("${q.totalLabel}: ${q.customerTotal}")
        if (!q.accepted) {
            Button(onClick = onAccept) { Text(stringResource(R.string.accept_quote)) }
            OutlinedButton(onClick = onRefuse) { Text(stringResource(R.string.refuse_quote)) }
        }
    }
}
