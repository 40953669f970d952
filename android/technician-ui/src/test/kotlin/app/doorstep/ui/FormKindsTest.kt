package app.doorstep.ui

import androidx.compose.runtime.CompositionLocalProvider
import androidx.compose.ui.test.junit4.createComposeRule
import androidx.compose.ui.test.onNodeWithTag
import androidx.compose.ui.test.performClick
import androidx.compose.ui.test.performScrollTo
import androidx.compose.ui.test.performTextInput
import androidx.compose.ui.test.performTextReplacement
import androidx.compose.ui.test.performTouchInput
import androidx.compose.ui.test.swipe
import androidx.compose.ui.geometry.Offset
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.ui.Modifier
import app.doorstep.shell.Language
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test

/** The generic renderer: a form with every field kind, filled through the screen and submitted. */
class FormKindsTest {
    @get:Rule
    val rule = createComposeRule()

    @Test
    fun every_field_kind_renders_fills_and_submits() {
        val state = FormState(UiFixtures.everyKind(Language.ZH))
        var submitted: List<SubmittedValue>? = null
        val fix = LocationReading.Fix(31.2304, 121.4737, 8.0)
        rule.setContent {
            CompositionLocalProvider(LocalStrings provides UiStrings.of(Language.ZH)) {
                DoorstepTheme {
                    Column(Modifier.verticalScroll(rememberScrollState())) {
                        ActionForm(state, { fix }, { submitted = it.submission() })
                    }
                }
            }
        }
        fun tag(t: String) = rule.onNodeWithTag(t, useUnmergedTree = true).performScrollTo()
        tag(FormTags.field("note")).performTextInput("客户要求下午再来")
        tag(FormTags.field("description")).performTextInput("更换压缩机")
        tag(FormTags.field("count")).performTextInput("2")
        tag(FormTags.field("amount")).performTextReplacement("168.5")
        tag(FormTags.option("method", "cash")).performClick()
        tag(FormTags.field("receipt")).performTextInput("R-88")
        tag(FormTags.option("cause", "f1")).performClick()
        tag(FormTags.option("items", "uniform")).performClick()
        tag(FormTags.option("items", "badge")).performClick()
        tag(FormTags.option("passed", "yes")).performClick()
        tag(FormTags.field("at")).performTextInput("2026-11-26 14:30")
        tag(FormTags.field("day")).performTextInput("2023-05-01")
        tag(FormTags.field("photo")).performTextInput("photo-1")
        tag(FormTags.option("quality", "4")).performClick()
        tag(FormTags.field("signature")).performTouchInput { swipe(Offset(20f, 20f), Offset(centerX, centerY), 300) }
        tag(FormTags.field("location")).performClick()
        tag("add:parts_used").performClick()
        tag(FormTags.field("parts_used[0].item")).performTextInput("压缩机")
        rule.waitUntil(5_000) { state.values["location"] != null }
        tag(FormTags.submit("every_kind")).performClick()
        rule.waitForIdle()

        val got = submitted ?: error("the form was not submitted")
        fun text(name: String) = got.filter { it.name == name }.map { (it.input as FieldInput.Text).text }
        assertEquals(listOf("客户要求下午再来"), text("note"))
        assertEquals(listOf("2"), text("count"))
        assertEquals(listOf("168.5"), text("amount"))
        assertEquals(listOf("cash"), text("method"))
        assertEquals(listOf("R-88"), text("receipt"))
        assertEquals(listOf("f1"), text("cause"))
        assertEquals(listOf("uniform", "badge"), text("items"))
        assertEquals(listOf("yes"), text("passed"))
        assertEquals(listOf("30"), text("travel"))
        assertEquals(listOf("4"), text("quality"))
        assertEquals(listOf("压缩机"), text("parts_used[0].item"))
        val strokes = got.single { it.name == "signature" }.input as FieldInput.Strokes
        assertTrue("the signature has a stroke of several points", strokes.strokes.any { it.points.size >= 2 })
        assertEquals(FieldInput.Located(fix), got.single { it.name == "location" }.input)
    }

    @Test
    fun a_hidden_field_is_not_submitted_and_ratings_have_no_default() {
        val state = FormState(UiFixtures.everyKind(Language.EN))
        state.set("method", FieldInput.Text("mobile"))
        state.set("receipt", FieldInput.Text("R-1"))
        val names = state.submission().map { it.name }
        assertTrue("receipt shows only for cash", "receipt" !in names)
        assertTrue("no rating unless the customer gives one", "quality" !in names)
        assertEquals(listOf("168.00"), state.submission().filter { it.name == "amount" }.map { (it.input as FieldInput.Text).text })
    }
}
