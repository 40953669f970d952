package app.doorstep.android

import androidx.compose.foundation.Canvas
import androidx.compose.foundation.gestures.detectDragGestures
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.height
import androidx.compose.material3.Button
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Slider
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableIntStateOf
import androidx.compose.runtime.mutableStateListOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.geometry.Offset
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.input.pointer.pointerInput
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import app.doorstep.shell.SignatureCapture

/**
 * Ratings and the signature pad. The pad feeds pointer events into the
 * shell's `SignatureCapture` (device-independent units, time offsets); the
 * report digest shown is the one these ratings would sign.
 */
@Composable
fun SignatureSection(vm: VisitViewModel, digestShort: String?) {
    var quality by remember { mutableIntStateOf(5) }
    var attitude by remember { mutableIntStateOf(5) }
    // Bumped on every pointer event so the pad state is recomputed.
    var version by remember { mutableIntStateOf(0) }
    val drawn = remember { mutableStateListOf<Offset>() }
    val capture = remember { SignatureCapture(1000f, 400f) }
    val pad = remember(version, quality, attitude) { vm.padState(capture, quality, attitude) }
    Column {
        Text(stringResource(R.string.signature))
        Text(stringResource(R.string.digest, pad?.reportDigestShort ?: digestShort ?: ""))
        Text(stringResource(R.string.quality) + " $quality")
        Slider(value = quality.toFloat(), onValueChange = { quality = it.toInt() }, valueRange = 1f..5f, steps = 3)
        Text(stringResource(R.string.attitude) + " $attitude")
        Slider(value = attitude.toFloat(), onValueChange = { attitude = it.toInt() }, valueRange = 1f..5f, steps = 3)
        pad?.let { Text(it.consentText) }
        Canvas(
            Modifier.fillMaxWidth().height(160.dp).pointerInput(Unit) {
                detectDragGestures(
                    onDragStart = { o -> capture.down(o.x * 1000f / this.size.width, o.y * 400f / this.size.height, System.currentTimeMillis()); drawn.add(o) },
                    onDrag = { change, _ ->
                        val p = change.position
                        capture.move(p.x * 1000f / this.size.width, p.y * 400f / this.size.height, System.currentTimeMillis())
                        drawn.add(p)
                        version++
                    },
                    onDragEnd = { capture.up(); version++ },
                )
            },
        ) {
            drawn.forEach { drawCircle(Color.Black, radius = 2f, center = it) }
        }
        OutlinedButton(onClick = { capture.clear(); drawn.clear(); version++ }) { Text(stringResource(R.string.clear)) }
        Button(enabled = pad?.canSubmit == true, onClick = { vm.signOff(capture, quality, attitude) }) { Text(stringResource(R.string.sign)) }
        OutlinedButton(onClick = { vm.decline("customer declined") }) { Text(stringResource(R.string.decline)) }
    }
}
