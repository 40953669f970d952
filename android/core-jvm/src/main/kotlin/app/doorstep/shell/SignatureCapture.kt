package app.doorstep.shell

import app.doorstep.core.SignaturePoint
import app.doorstep.core.SignatureStroke

/**
 * Captures a customer's signature from pointer events on a pad of
 * [padWidth] x [padHeight] pixels, in device-independent units (0..[units]
 * on both axes, so the same signature digests the same on any screen) with
 * time offsets in milliseconds from the first touch. The core checks the
 * strokes and binds their digest to the report; this only records them.
 */
class SignatureCapture(
    private val padWidth: Float,
    private val padHeight: Float,
    private val units: Int = 1000,
) {
    init {
        require(padWidth > 0 && padHeight > 0) { "the pad needs a size" }
    }

    private val strokes = mutableListOf<MutableList<SignaturePoint>>()
    private var current: MutableList<SignaturePoint>? = null
    private var startMs: Long? = null
    private var lastT: UInt = 0u

    /** Pen down: starts a stroke. */
    fun down(x: Float, y: Float, timeMs: Long) {
        up()
        current = mutableListOf<SignaturePoint>().also { strokes.add(it) }
        add(x, y, timeMs)
    }

    /** Pen moved while down; ignored when the pen is up. */
    fun move(x: Float, y: Float, timeMs: Long) {
        if (current != null) add(x, y, timeMs)
    }

    /** Pen up: ends the stroke. */
    fun up() {
        current = null
    }

    /** Clears the pad (the customer wants to sign again). */
    fun clear() {
        strokes.clear()
        current = null
        startMs = null
        lastT = 0u
    }

    val strokeCount: Int get() = strokes.count { it.isNotEmpty() }

    /** What the core accepts as a signature: a stroke of two or more points. */
    val isPlausible: Boolean get() = strokes.any { it.size >= 2 }

    fun strokes(): List<SignatureStroke> = strokes.filter { it.isNotEmpty() }.map { SignatureStroke(it.toList()) }

    private fun add(x: Float, y: Float, timeMs: Long) {
        val start = startMs ?: timeMs.also { startMs = it }
        // Time never runs backwards inside a signature, even if events arrive out of order.
        val t = maxOf(lastT, (timeMs - start).coerceIn(0, UInt.MAX_VALUE.toLong()).toUInt())
        lastT = t
        val p = SignaturePoint(scale(x, padWidth), scale(y, padHeight), t)
        val stroke = current ?: return
        val last = stroke.lastOrNull()
        if (last != null && last.x == p.x && last.y == p.y) return
        stroke.add(p)
    }

    private fun scale(v: Float, size: Float): Int = (v.coerceIn(0f, size) / size * units).toInt()
}
