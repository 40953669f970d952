//! Pay by QR at the door (STANDARDS §2.15): while the visit offers to
//! collect the payment, the technician picks WeChat Pay or Alipay, the center
//! makes the provider's order of exactly the amount due, and the screen
//! shows its code for the customer to scan. The screen asks after the order
//! every two seconds; once the provider has confirmed it, the payment is
//! recorded with the order named. [QrPaymentFlow] holds the flow; the
//! [QrPaymentPanel] only draws it, the code drawn from zxing's matrix.
package app.doorstep.ui

import androidx.compose.foundation.Canvas
import androidx.compose.foundation.background
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.size
import androidx.compose.material3.MaterialTheme
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.remember
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.geometry.Offset
import androidx.compose.ui.geometry.Size
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.semantics.contentDescription
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.text.font.FontWeight
import androidx.compose.ui.unit.dp
import app.doorstep.core.LocalizedText
import app.doorstep.core.QrPayment
import app.doorstep.core.QrPaymentStatus
import app.doorstep.shell.CoreResult
import app.doorstep.shell.Language
import app.doorstep.shell.pick
import com.google.zxing.BarcodeFormat
import com.google.zxing.EncodeHintType
import com.google.zxing.common.BitMatrix
import com.google.zxing.qrcode.QRCodeWriter
import com.google.zxing.qrcode.decoder.ErrorCorrectionLevel
import kotlinx.coroutines.delay

/** One provider's button. */
data class QrProviderButton(val code: String, val label: String)

/** The QR payment panel as shown. */
data class QrPanelState(
    val providers: List<QrProviderButton>,
    /** The order under way, if one was asked for. */
    val payment: QrPaymentView?,
    val error: String?,
    val busy: Boolean,
    /** Bumped by every ask, so the screen asks again two seconds later while the order is open. */
    val asked: Int,
)

/** An order as the panel draws it (every text worded by the core). */
data class QrPaymentView(
    val paymentId: String,
    val provider: String,
    val amount: String,
    val status: QrPaymentStatus,
    val statusText: String,
    val orderNumber: String,
    val codeUrl: String?,
    val failure: String?,
) {
    val open: Boolean get() = status == QrPaymentStatus.CREATING || status == QrPaymentStatus.AWAITING_PAYMENT
}

/**
 * The flow behind the panel for one visit: ask for an order, ask after it,
 * record it once paid. Blocking calls (network): run them off the UI thread.
 */
class QrPaymentFlow(private val payments: QrPayments, private val onRecorded: () -> Unit) {
    /** The providers to offer: a fixed list, read once. */
    private val providers = payments.providers()
    private var payment: QrPayment? = null
    private var error: LocalizedText? = null
    private var busy = false
    private var asked = 0

    /** Asks the center for [provider]'s order of what the visit owes. */
    fun start(assignmentId: String, provider: String) {
        busy = true
        error = null
        when (val r = payments.create(assignmentId, provider)) {
            is CoreResult.Ok -> payment = r.value
            is CoreResult.Failed -> error = LocalizedText(r.en, r.zh)
        }
        busy = false
        asked++
    }

    /** Asks after the order; once paid, records the payment (the visit moves on). */
    fun poll() {
        val current = payment ?: return
        when (val r = payments.status(current.paymentId)) {
            is CoreResult.Ok -> {
                payment = r.value
                if (r.value.status == QrPaymentStatus.PAID) record(r.value)
            }
            // A lost connection while waiting: keep the code on screen and ask again.
            is CoreResult.Failed -> error = LocalizedText(r.en, r.zh)
        }
        asked++
    }

    private fun record(paid: QrPayment) {
        when (val outcome = payments.record(paid)) {
            is SubmitOutcome.Done -> {
                payment = null
                error = null
                onRecorded()
            }
            is SubmitOutcome.Refused -> error = outcome.whole ?: outcome.fields.values.firstOrNull()
        }
    }

    /** Drops the order from the screen (the center closes it when it expires or a new one is made). */
    fun cancel() {
        payment = null
        error = null
        asked++
    }

    fun state(lang: Language, offlineHint: String): QrPanelState = QrPanelState(
        providers = providers.map { QrProviderButton(it.code, it.name.pick(lang)) },
        payment = payment?.let { p ->
            QrPaymentView(
                paymentId = p.paymentId,
                provider = p.providerName.pick(lang),
                amount = p.amountShown,
                status = p.status,
                statusText = p.statusText.pick(lang),
                orderNumber = p.outTradeNo,
                codeUrl = p.codeUrl,
                failure = p.failure?.pick(lang),
            )
        },
        error = error?.let { it.pick(lang) + if (payment == null) "\n" + offlineHint else "" },
        busy = busy,
        asked = asked,
    )
}

/** The panel: provider buttons, then the order's code, amount and state until it is paid. */
@Composable
fun QrPaymentPanel(
    state: QrPanelState,
    onStart: (String) -> Unit,
    onPoll: () -> Unit,
    onCancel: () -> Unit,
    modifier: Modifier = Modifier,
) {
    val s = LocalStrings.current
    val payment = state.payment
    if (payment != null && payment.open) {
        LaunchedEffect(payment.paymentId, state.asked) {
            delay(2_000)
            onPoll()
        }
    }
    Section(s.qrTitle, modifier.testTag("qr-payment")) {
        UiText(s.qrHelp, style = MaterialTheme.typography.bodyMedium)
        if (payment == null) {
            Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                state.providers.forEach { p ->
                    BigButton(s.qrWith(p.label), onClick = { onStart(p.code) }, enabled = !state.busy, modifier = Modifier.weight(1f).testTag("qr-start:${p.code}"))
                }
            }
        } else {
            UiText("${payment.provider} · ${s.qrAmount(payment.amount)}", fontWeight = FontWeight.Bold, modifier = Modifier.testTag("qr-amount"))
            UiText(payment.statusText, color = MaterialTheme.colorScheme.secondary, modifier = Modifier.testTag("qr-status"))
            payment.codeUrl?.takeIf { payment.status == QrPaymentStatus.AWAITING_PAYMENT }?.let { url ->
                Box(Modifier.fillMaxWidth(), contentAlignment = Alignment.Center) {
                    QrCodeImage(url, s.qrCodeDescription)
                }
            }
            UiText(s.qrOrder(payment.orderNumber), style = MaterialTheme.typography.bodySmall)
            payment.failure?.let { ErrorText(it) }
            if (payment.open) {
                BigOutlinedButton(s.qrCancel, onClick = onCancel, modifier = Modifier.testTag("qr-cancel"))
            } else {
                BigOutlinedButton(s.qrAgain, onClick = onCancel, modifier = Modifier.testTag("qr-again"))
            }
        }
        state.error?.let { ErrorText(it, Modifier.testTag("qr-error")) }
    }
}

/** The code itself: dark modules on white with a quiet zone, large enough to scan from an arm's length. */
@Composable
private fun QrCodeImage(text: String, description: String) {
    val matrix = remember(text) { qrMatrix(text) }
    Canvas(
        Modifier.size(240.dp).background(Color.White).padding(12.dp).semantics { contentDescription = description }.testTag("qr-code"),
    ) {
        val cell = size.minDimension / matrix.width
        for (y in 0 until matrix.height) {
            for (x in 0 until matrix.width) {
                if (matrix[x, y]) drawRect(Color.Black, Offset(x * cell, y * cell), Size(cell, cell))
            }
        }
    }
}

/** The QR matrix of [text] (error correction M, the quiet zone drawn by the padding). */
fun qrMatrix(text: String): BitMatrix = QRCodeWriter().encode(
    text,
    BarcodeFormat.QR_CODE,
    0,
    0,
    mapOf(EncodeHintType.MARGIN to 0, EncodeHintType.ERROR_CORRECTION to ErrorCorrectionLevel.M, EncodeHintType.CHARACTER_SET to "UTF-8"),
)
