package app.doorstep.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.runtime.CompositionLocalProvider
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.test.junit4.createComposeRule
import app.doorstep.core.DoorstepException
import app.doorstep.core.VisitSession
import app.doorstep.core.VisitStage
import app.doorstep.shell.Language
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test

/**
 * Every form the core describes, for every trade, along the whole of a
 * real visit: each trade's example visit (the repo's
 * `examples/<trade>.jsonl`, the visit the core's script tests walk to its
 * close) is replayed step by step, and before each step every form the
 * screen offers that has not been tried yet is rendered by the generic
 * renderer, filled through its composables and submitted to the core on a
 * copy of the visit. The core must always be able to make a command of
 * what its own form collected (a rule may still refuse that command at
 * that moment, and the refusal is shown on the form); a form the core
 * cannot fill fails the test. The step the script takes next must itself
 * be among the forms offered, so the screen never lacks what the visit
 * needs; the visit must close.
 */
class EveryFormTest {
    @get:Rule
    val rule = createComposeRule()

    private val trades = listOf("appliance_repair", "computer_repair", "water_delivery", "home_care", "property_maintenance", "heating_service")

    /** Commands the visit takes without a form: the center's assignment arriving, and the signature (the signing screen). */
    private val withoutForm = setOf("receive_assignment", "sign_off")

    @Test
    fun every_form_along_every_trades_visit_renders_fills_and_submits() {
        var current by mutableStateOf<FormState?>(null)
        var language by mutableStateOf(Language.ZH)
        var onSubmit: (FormState) -> Unit = {}
        rule.setContent {
            CompositionLocalProvider(LocalStrings provides UiStrings.of(language)) {
                DoorstepTheme {
                    Column(Modifier.verticalScroll(rememberScrollState())) {
                        current?.let { f -> ActionForm(f, { siteOf(f) }, { onSubmit(it) }) }
                    }
                }
            }
        }
        val filler = FormFiller(rule)
        val report = mutableListOf<String>()
        for (trade in trades) {
            val steps = ExampleVisits.steps(trade)
            val session = VisitSession(trade, "every-form-$trade", "王强")
            // What the visit went through so far: replayed on a fresh session to try a form without keeping it.
            val history = mutableListOf<ExampleVisits.Step>()
            fun fork(): VisitSession = VisitSession(trade, "every-form-$trade", "王强").also { f ->
                history.forEach { f.apply(it.command, it.at, it.location) }
            }
            val tried = mutableSetOf<String>()
            var refused = 0
            val stages = mutableSetOf<VisitStage>()
            for (step in steps) {
                val now = step.at
                if (history.isNotEmpty()) {
                    site = session.screen(now).customer?.location?.let { LocationReading.Fix(it.lat, it.lon, 5.0) } ?: LocationReading.NoFix
                    val forms = session.actionForms()
                    if (step.type !in withoutForm) {
                        assertTrue(
                            "$trade: the visit's next step ${step.type} at ${session.screen(now).stage} is not among the offered forms ${forms.map { it.action }}",
                            forms.any { it.action == step.type },
                        )
                    }
                    for (form in forms.filter { it.action !in tried }) {
                        language = if (tried.size % 2 == 0) Language.ZH else Language.EN
                        val state = FormState(FormSpec.of(form, language))
                        current = state
                        rule.waitForIdle()
                        filler.fill(state)
                        onSubmit = { f ->
                            val values = f.submission().map(StoreActionForms::formValue)
                            fork().use { trial ->
                                try {
                                    trial.submitAction(f.spec.action, values, now, fixOf())
                                } catch (e: DoorstepException.InvalidForm) {
                                    error("$trade: the core could not fill ${f.spec.action} from its own form: ${e.problems.map { it.field + ": " + it.en }}")
                                } catch (e: DoorstepException.Refused) {
                                    refused++
                                    f.formError = app.doorstep.core.LocalizedText(e.en, e.zh)
                                }
                            }
                        }
                        filler.submit(state)
                        tried += form.action
                        stages += session.screen(now).stage
                    }
                }
                session.apply(step.command, now, step.location)
                history += step
            }
            val end = session.screen(steps.last().at).stage
            assertEquals("$trade: the example visit closes", VisitStage.CLOSED, end)
            report += "$trade: ${tried.size} forms rendered and submitted in ${stages.size} stages ($refused refused by a rule at that moment), ${history.size} steps to $end"
            session.close()
        }
        println(report.joinToString("\n"))
    }

    private var site: LocationReading = LocationReading.NoFix

    private fun fixOf() = (site as? LocationReading.Fix)?.let(StoreActionForms::location)

    @Suppress("UNUSED_PARAMETER")
    private fun siteOf(f: FormState): LocationReading = site
}
