package app.doorstep.ui

import androidx.compose.ui.geometry.Offset
import androidx.compose.ui.test.junit4.ComposeContentTestRule
import androidx.compose.ui.test.hasAnyAncestor
import androidx.compose.ui.test.hasTestTag
import androidx.compose.ui.test.performClick
import androidx.compose.ui.test.performScrollTo
import androidx.compose.ui.test.performTextReplacement
import androidx.compose.ui.test.performTouchInput
import androidx.compose.ui.test.swipe
import app.doorstep.core.FieldKind
import app.doorstep.core.formatMoney
import java.time.LocalDate

/**
 * Fills a rendered form through its composables, as a technician would:
 * the values a test gives by field name first, then every required visible
 * field still empty with a plain value of its kind (the first option, yes,
 * a signature drawn on the pad, the phone's location). Fields the core
 * defaults keep their defaults.
 */
class FormFiller(private val rule: ComposeContentTestRule, private val scoped: Boolean = false) {
    /** The form currently filled: with [scoped], nodes are looked up inside its `form:<action>` subtree. */
    private var action = ""

    private fun node(tag: String) = rule.onNode(
        if (scoped) hasTestTag(tag) and hasAnyAncestor(hasTestTag("form:$action")) else hasTestTag(tag),
        useUnmergedTree = true,
    ).performScrollTo()

    fun fill(state: FormState, given: Map<String, String> = emptyMap()) {
        action = state.spec.action
        for ((name, value) in given) put(state, fieldNamed(state.spec, name), name, value)
        // Twice: a choice made in the first pass may show more fields.
        repeat(2) {
            for (f in state.spec.fields) {
                if (!state.isVisible(f) || f.readOnly) continue
                if (f.kind == FieldKind.LIST) {
                    if ((state.listSizes[f.name] ?: 0) == 0 && f.required) node("add:${f.name}").performClick()
                    rule.waitForIdle()
                    repeat(state.listSizes[f.name] ?: 0) { i ->
                        for (sub in f.itemFields) {
                            val name = FormSpec.rowField(f.name, i, sub.name)
                            if (sub.required && state.values[name] == null) plain(sub)?.let { put(state, sub, name, it) }
                        }
                    }
                } else if (f.required && state.values[f.name] == null) {
                    plain(f)?.let { put(state, f, f.name, it) }
                }
            }
        }
    }

    fun submit(state: FormState) {
        action = state.spec.action
        node(FormTags.submit(state.spec.action)).performClick()
        rule.waitForIdle()
    }

    private fun fieldNamed(spec: FormSpec, name: String): FieldSpec {
        spec.fields.firstOrNull { it.name == name }?.let { return it }
        val list = name.substringBefore('[')
        val item = name.substringAfter("].", "")
        return spec.fields.firstOrNull { it.name == list }?.itemFields?.firstOrNull { it.name == item }
            ?: error("${spec.action} has no field $name: ${spec.fields.map { it.name }}")
    }

    /** A plain value of [f]'s kind, as typed or chosen; null when the kind is not typed (filled by gesture). */
    private fun plain(f: FieldSpec): String? = when (f.kind) {
        FieldKind.CHOICE, FieldKind.MULTI_CHOICE -> f.options.firstOrNull()?.id
        FieldKind.YES_NO -> "yes"
        FieldKind.TEXT -> "已核实"
        FieldKind.LONG_TEXT -> "按服务标准完成"
        FieldKind.INTEGER -> (f.min ?: 1L).coerceAtLeast(1L).coerceAtMost(f.max ?: Long.MAX_VALUE).toString()
        FieldKind.DURATION -> "20"
        FieldKind.MONEY -> formatMoney(f.min ?: 0L, "CNY")
        FieldKind.DATE -> LocalDate.now().plusDays(2).toString()
        // As the field's hint shows it: local time of the business zone.
        FieldKind.DATE_TIME -> "${LocalDate.now().plusDays(2)} 09:00"
        FieldKind.PHOTO -> "photo-0001"
        FieldKind.RATING -> "5"
        FieldKind.SIGNATURE, FieldKind.LOCATION -> ""
        FieldKind.LIST -> null
    }

    private fun put(state: FormState, f: FieldSpec, name: String, value: String) {
        when (f.kind) {
            FieldKind.CHOICE, FieldKind.YES_NO -> node(FormTags.option(name, value)).performClick()
            FieldKind.RATING -> node(FormTags.option(name, value)).performClick()
            FieldKind.MULTI_CHOICE -> value.split(',').forEach { node(FormTags.option(name, it.trim())).performClick() }
            FieldKind.SIGNATURE -> {
                node(FormTags.field(name)).performTouchInput { swipe(Offset(20f, 30f), Offset(centerX, centerY), 300) }
                node(FormTags.field(name)).performTouchInput { swipe(Offset(centerX, 20f), Offset(width - 20f, height - 20f), 300) }
            }
            FieldKind.LOCATION -> {
                node(FormTags.field(name)).performClick()
                rule.waitUntil(10_000) { state.values[name] != null }
            }
            FieldKind.LIST -> error("$name: fill a list row by row")
            else -> node(FormTags.field(name)).performTextReplacement(value)
        }
        rule.waitForIdle()
    }
}
