//! The form a screen renders for one action, in the shown language, and the
//! technician's input to it: the core's form description (`ActionForm`)
//! picked into one language, and what the renderer hands back to be
//! submitted. The field kinds are the core's generated `FieldKind`: the
//! shell keeps no vocabulary of its own.
package app.doorstep.ui

import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateMapOf
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.setValue
import app.doorstep.core.ActionForm
import app.doorstep.core.FieldKind
import app.doorstep.core.FieldValue
import app.doorstep.core.FormField
import app.doorstep.core.FormItemField
import app.doorstep.core.LocalizedText
import app.doorstep.core.ReportDigest
import app.doorstep.core.SignatureStroke
import app.doorstep.shell.Language
import app.doorstep.shell.pick

/** One option of a choice, labelled in the shown language. */
data class ChoiceSpec(val id: String, val label: String)

/** Show a field only while the field [field] holds one of [anyOf]. */
data class ShownWhen(val field: String, val anyOf: List<String>)

/** One field of an action's form, labelled in the shown language. */
data class FieldSpec(
    val name: String,
    val kind: FieldKind,
    val required: Boolean,
    val label: String,
    val help: String? = null,
    val default: String? = null,
    val min: Long? = null,
    val max: Long? = null,
    val options: List<ChoiceSpec> = emptyList(),
    val shownWhen: ShownWhen? = null,
    /** Shown, not edited (the consent text, the digest the signing screen showed). */
    val readOnly: Boolean = false,
    /** A list's row fields, named relative to the row. */
    val itemFields: List<FieldSpec> = emptyList(),
    /** The rows a list starts with: values by row field name, as typed. */
    val defaultItems: List<Map<String, String>> = emptyList(),
)

/** An action the visit offers now, as a form. */
data class FormSpec(
    val action: String,
    val label: String,
    val help: String?,
    val required: Boolean,
    val fields: List<FieldSpec>,
) {
    /** The signing form: it carries the digest of the report its screen showed. */
    val isSignOff: Boolean get() = fields.any { it.readOnly && it.name == SHOWN_DIGEST }

    companion object {
        /** The sign-off form's read-only field holding the digest the screen showed (the core's name). */
        const val SHOWN_DIGEST = "shown_digest"

        /** The action that records a photo: with a camera, the screen takes the picture instead of its form. */
        const val TAKE_PHOTO = "take_photo"

        /** The core's form description in [lang]. */
        fun of(form: ActionForm, lang: Language): FormSpec = FormSpec(
            action = form.action,
            label = form.label.pick(lang),
            help = form.help?.pick(lang),
            required = form.required,
            fields = form.fields.map { field(it, lang) },
        )

        private fun options(o: List<app.doorstep.core.ChoiceOption>, lang: Language) = o.map { ChoiceSpec(it.id, it.label.pick(lang)) }

        private fun field(f: FormField, lang: Language) = FieldSpec(
            name = f.name, kind = f.kind, required = f.required, label = f.label.pick(lang), help = f.help?.pick(lang),
            default = f.defaultText?.pick(lang) ?: f.default, min = f.min, max = f.max, options = options(f.options, lang),
            shownWhen = f.visibleWhen?.let { ShownWhen(it.field, it.anyOf) }, readOnly = f.readOnly,
            itemFields = f.itemFields.map { item(it, lang) },
            defaultItems = f.defaultItems.map { row ->
                row.values.mapNotNull { v -> (v.value as? FieldValue.Text)?.let { v.name to it.text } }.toMap()
            },
        )

        private fun item(f: FormItemField, lang: Language) = FieldSpec(
            name = f.name, kind = f.kind, required = f.required, label = f.label.pick(lang), help = f.help?.pick(lang),
            default = f.default, min = f.min, max = f.max, options = options(f.options, lang),
        )

        /** The name the core gives a list row's field: `quote.lines[1].qty`. */
        fun rowField(list: String, index: Int, item: String) = "$list[$index].$item"
    }
}

/** What the technician entered in one field. */
sealed interface FieldInput {
    /** Text as typed (money as yuan, numbers, choice ids, yes/no as `true`/`false`). */
    data class Text(val text: String) : FieldInput

    /** The customer's signature. */
    data class Strokes(val strokes: List<SignatureStroke>) : FieldInput

    /** The phone's reading: a fix, or why there is none (recorded as such). */
    data class Located(val reading: LocationReading) : FieldInput
}

/** A submitted field: [name] is the field's dotted name (list rows: `parts_used[0].item`). */
data class SubmittedValue(val name: String, val input: FieldInput)

/** What the signing screen shows before the customer signs: the core's digest of exactly this. */
data class SignOffPreview(val quality: Int, val attitude: Int, val comment: String?, val consent: String, val digest: ReportDigest)

/**
 * The editable state of one form: values by field name, the refusals shown
 * under each field, and a refusal for the form as a whole.
 */
class FormState(val spec: FormSpec, carried: Map<String, FieldInput> = emptyMap(), carriedRows: Map<String, Int>? = null) {
    val values = mutableStateMapOf<String, FieldInput>()

    /** The core's refusals by field name, in both languages so a language switch keeps them. */
    val errors = mutableStateMapOf<String, LocalizedText>()
    var formError by mutableStateOf<LocalizedText?>(null)
    var busy by mutableStateOf(false)

    /** The signing form's preview, as last computed by the core (null until both ratings are given). */
    var preview by mutableStateOf<SignOffPreview?>(null)

    /** The signing form's report, read out by the core: what the customer reads before rating and signing. */
    var reportLines by mutableStateOf<List<app.doorstep.core.ReportLine>>(emptyList())

    /** How many rows each list field holds. */
    val listSizes = mutableStateMapOf<String, Int>()

    init {
        for (f in spec.fields) {
            val d = f.default
            if (d != null && f.kind != FieldKind.RATING && f.kind != FieldKind.LIST) values[f.name] = FieldInput.Text(d)
        }
        spec.fields.filter { it.kind == FieldKind.LIST }.forEach { list ->
            if (carriedRows != null) {
                listSizes[list.name] = carriedRows[list.name] ?: 0
                return@forEach
            }
            val rows = list.defaultItems.ifEmpty { if (list.required) listOf(emptyMap()) else emptyList() }
            listSizes[list.name] = rows.size
            rows.forEachIndexed { i, row -> seedRow(list, i, row) }
        }
        values.putAll(carried)
    }

    private fun seedRow(list: FieldSpec, i: Int, row: Map<String, String>) {
        list.itemFields.forEach { f ->
            (row[f.name] ?: f.default)?.let { values[FormSpec.rowField(list.name, i, f.name)] = FieldInput.Text(it) }
        }
    }

    /**
     * The same form in another language, keeping what was entered; a shown,
     * not edited text the core words per language (the consent) takes the
     * new language's wording.
     */
    fun relabelled(spec: FormSpec): FormState {
        val worded = spec.fields.filter { it.readOnly && it.default != null }.map { it.name }.toSet()
        return relabelledKeeping(spec, values.filterKeys { it !in worded })
    }

    private fun relabelledKeeping(spec: FormSpec, kept: Map<String, FieldInput>) = FormState(spec, kept, listSizes.toMap()).also { next ->
        next.errors.putAll(errors)
        next.formError = formError
        next.preview = preview
        next.reportLines = reportLines
    }

    /**
     * Shows the core's refusal: each field's text under that field when this
     * form shows it (a list row's field under its list's row), the rest —
     * and a refusal of the form as a whole — under the form.
     */
    fun showRefusal(fields: Map<String, LocalizedText>, whole: LocalizedText?) {
        val shown = spec.fields.filter(::isVisible).map { it.name }.toSet()
        val (under, elsewhere) = fields.entries.partition { (name, _) -> name.substringBefore('[') in shown }
        errors.clear()
        under.forEach { (name, text) -> errors[name] = text }
        val rest = listOfNotNull(whole) + elsewhere.map { it.value }
        formError = if (rest.isEmpty()) null else LocalizedText(rest.joinToString(" ") { it.en }, rest.joinToString("") { it.zh })
    }

    fun text(name: String): String = (values[name] as? FieldInput.Text)?.text ?: ""

    fun set(name: String, input: FieldInput?) {
        if (input == null) values.remove(name) else values[name] = input
        errors.remove(name)
        formError = null
    }

    fun isVisible(field: FieldSpec): Boolean =
        field.shownWhen?.let { w -> text(w.field).split(',').any { it.trim() in w.anyOf } } ?: true

    fun addItem(list: FieldSpec) {
        val i = listSizes[list.name] ?: 0
        listSizes[list.name] = i + 1
        seedRow(list, i, emptyMap())
    }

    fun removeLastItem(list: FieldSpec) {
        val n = listSizes[list.name] ?: 0
        if (n == 0) return
        list.itemFields.forEach { values.remove(FormSpec.rowField(list.name, n - 1, it.name)) }
        listSizes[list.name] = n - 1
    }

    /** The non-empty values of the visible fields, in form order; multi-choice ids go one value each. */
    fun submission(): List<SubmittedValue> {
        val out = mutableListOf<SubmittedValue>()
        fun add(f: FieldSpec, name: String) {
            when (val v = values[name]) {
                null -> {}
                is FieldInput.Text -> when {
                    v.text.isBlank() -> {}
                    f.kind == FieldKind.MULTI_CHOICE ->
                        v.text.split(',').filter { it.isNotBlank() }.forEach { out.add(SubmittedValue(name, FieldInput.Text(it.trim()))) }
                    else -> out.add(SubmittedValue(name, FieldInput.Text(v.text.trim())))
                }
                else -> out.add(SubmittedValue(name, v))
            }
        }
        for (f in spec.fields) {
            if (!isVisible(f)) continue
            if (f.kind == FieldKind.LIST) {
                repeat(listSizes[f.name] ?: 0) { i -> f.itemFields.forEach { sub -> add(sub, FormSpec.rowField(f.name, i, sub.name)) } }
            } else {
                add(f, f.name)
            }
        }
        return out
    }
}
