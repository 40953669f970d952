package app.doorstep.shell

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** The shell's own logic, without the core. */
class ShellModelsTest {
    @Test
    fun `signature capture normalises to pad units and keeps time monotonic`() {
        val pad = SignatureCapture(200f, 100f)
        assertFalse(pad.isPlausible)
        pad.move(1f, 1f, 0) // pen up: ignored
        pad.down(0f, 0f, 5_000)
        pad.move(0f, 0f, 5_010) // same point: dropped
        assertFalse(pad.isPlausible)
        pad.move(100f, 50f, 5_100)
        pad.move(250f, -3f, 5_050) // outside the pad and out of order
        pad.up()
        val s = pad.strokes().single().points
        assertEquals(listOf(0 to 0, 500 to 500, 1000 to 0), s.map { it.x to it.y })
        assertEquals(listOf(0u, 100u, 100u), s.map { it.tMs })
        assertTrue(pad.isPlausible)
        pad.down(10f, 10f, 6_000)
        pad.up()
        assertEquals(2, pad.strokeCount)
        pad.clear()
        assertEquals(0, pad.strokeCount)
    }

    @Test
    fun `money is formatted from minor units`() {
        assertEquals("¥123.05", Money.format(12_305, "CNY"))
        assertEquals("-¥0.50", Money.format(-50, "CNY"))
        assertEquals("HKD 1.00", Money.format(100, "HKD"))
    }

    @Test
    fun `form values are named as the form names its fields`() {
        val values = FormValues.of(
            "amount" to "168.5",
            "address_confirmed" to true,
            "items" to listOf("uniform", "clean"),
            "quote.lines" to listOf(mapOf("item" to "visit_fee", "qty" to 1)),
            "note" to null,
        )
        assertEquals(
            listOf("amount", "address_confirmed", "items", "items", "quote.lines[0].item", "quote.lines[0].qty"),
            values.map { it.name },
        )
        assertEquals(app.doorstep.core.FieldValue.Text("yes"), values[1].value)
        assertEquals("zh", Language.fromTag("zh-CN").name.lowercase())
        assertEquals(Language.EN, Language.fromTag("en-GB"))
    }
}
