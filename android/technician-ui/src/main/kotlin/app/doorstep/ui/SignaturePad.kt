//! The customer's signature pad: pointer events recorded by the shell's
//! SignatureCapture, drawn as smooth ink (quadratic curves through the
//! midpoints of successive points), never as dots.
package app.doorstep.ui

import androidx.compose.foundation.Canvas
import androidx.compose.foundation.background
import androidx.compose.foundation.border
import androidx.compose.foundation.gestures.detectDragGestures
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.height
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableIntStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberUpdatedState
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.geometry.Offset
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.graphics.Path
import androidx.compose.ui.graphics.StrokeCap
import androidx.compose.ui.graphics.StrokeJoin
import androidx.compose.ui.graphics.drawscope.Stroke
import androidx.compose.ui.input.pointer.pointerInput
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.unit.dp
import app.doorstep.core.SignatureStroke
import app.doorstep.shell.SignatureCapture

/** The capture's device-independent units on both axes. */
private const val UNITS = 1000f

/** One segment of smooth ink: a quadratic curve from [from] through control [control] to [to]. */
data class InkSegment(val from: Offset, val control: Offset, val to: Offset)

/**
 * Smooth ink for one stroke: each recorded point is the control point of a
 * quadratic curve between the midpoints around it, so the line passes
 * through no corner. A one-point stroke is a dot-length segment.
 */
fun smoothInk(points: List<Offset>): List<InkSegment> {
    if (points.isEmpty()) return emptyList()
    if (points.size == 1) return listOf(InkSegment(points[0], points[0], points[0]))
    if (points.size == 2) return listOf(InkSegment(points[0], points[0], points[1]))
    val out = mutableListOf<InkSegment>()
    var start = points[0]
    for (i in 1 until points.size - 1) {
        val mid = (points[i] + points[i + 1]) / 2f
        out.add(InkSegment(start, points[i], mid))
        start = mid
    }
    out.add(InkSegment(start, points[points.size - 1], points[points.size - 1]))
    return out
}

private fun inkPath(strokes: List<SignatureStroke>, width: Float, height: Float): Path {
    val path = Path()
    for (s in strokes) {
        val pts = s.points.map { Offset(it.x.toFloat() / UNITS * width, it.y.toFloat() / UNITS * height) }
        val segments = smoothInk(pts)
        segments.firstOrNull()?.let { path.moveTo(it.from.x, it.from.y) }
        segments.forEach { path.quadraticTo(it.control.x, it.control.y, it.to.x, it.to.y) }
    }
    return path
}

/**
 * A pad the customer signs on; [onChange] receives the strokes after every
 * pen-up (empty after "clear"). [strokes] is what is drawn.
 */
@Composable
fun SignaturePad(strokes: List<SignatureStroke>, onChange: (List<SignatureStroke>) -> Unit, modifier: Modifier = Modifier) {
    val capture = remember { SignatureCapture(UNITS, UNITS) }
    var version by remember { mutableIntStateOf(0) }
    // The gesture handler outlives recompositions: it reads the latest strokes and
    // callback (a language switch hands the pad a new form state to write to).
    val currentStrokes by rememberUpdatedState(strokes)
    val currentOnChange by rememberUpdatedState(onChange)
    val ink = MaterialInk
    Box(
        modifier.fillMaxWidth().height(180.dp).background(Color.White).border(1.dp, Color.Gray)
            .testTag("signature-pad")
            .pointerInput(Unit) {
                fun x(o: Offset) = o.x / size.width * UNITS
                fun y(o: Offset) = o.y / size.height * UNITS
                detectDragGestures(
                    onDragStart = { o ->
                        if (currentStrokes.isEmpty()) capture.clear()
                        capture.down(x(o), y(o), System.currentTimeMillis())
                        version++
                    },
                    onDrag = { change, _ ->
                        capture.move(x(change.position), y(change.position), System.currentTimeMillis())
                        version++
                        currentOnChange(capture.strokes())
                    },
                    onDragEnd = {
                        capture.up()
                        currentOnChange(capture.strokes())
                    },
                )
            },
        contentAlignment = Alignment.Center,
    ) {
        if (strokes.isEmpty()) UiText(LocalStrings.current.signHere, color = Color.Gray)
        Canvas(Modifier.fillMaxWidth().height(180.dp)) {
            @Suppress("UNUSED_EXPRESSION") version
            drawPath(inkPath(strokes, size.width, size.height), ink, style = Stroke(width = 3.dp.toPx(), cap = StrokeCap.Round, join = StrokeJoin.Round))
        }
    }
}

private val MaterialInk = Color(0xFF10206B)
