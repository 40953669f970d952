//! The form a screen renders for one action, in the shown language, and the
//! technician's input to it: what the generic renderer needs from the
//! core's form description, and what it hands back to be submitted.
package app.doorstep.ui

import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateMapOf
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.setValue
import app.doorstep.core.LocalizedText
import app.doorstep.core.SignatureStroke

/** The kinds of field the core describes; one composable each in FormRenderer. */
enum class FieldKind {
    TEXT, LONG_TEXT, INTEGER, MONEY, CHOICE, MULTI_CHOICE, YES_NO, DATE_TIME, DATE, DURATION,
    PHOTO, SIGNATURE, LOCATION, RATING, LIST,
}

/** One option of a choice, labelled in the shown language. */
data class ChoiceSpec(val id: String, val label: String)

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
    /** Shown only when the field [visibleWhen].first holds the value [visibleWhen].second. */
    val visibleWhen: Pair<String, String>? = null,
    val itemFields: List<FieldSpec> = emptyList(),
)

/** An action the visit offers now, as a form. */
data class FormSpec(
    val action: String,
    val label: String,
    val help: String?,
    val required: Boolean,
    val fields: List<FieldSpec>,
)

/** What the technician entered in one field. */
sealed interface FieldInput {
    /** Text as typed (money as yuan, numbers, choice ids, yes/no as `true`/`false`). */
    data class Text(val text: String) : FieldInput

    /** The customer's signature. */
    data class Strokes(val strokes: List<SignatureStroke>) : FieldInput

    /** The phone's reading: a fix, or why there is none (recorded as such). */
    data class Located(val reading: LocationReading) : FieldInput
}

/** A submitted field: [name] is the field's dotted name (list items: `parts_used.0.item`). */
data class SubmittedValue(val name: String, val input: FieldInput)

/**
 * The editable state of one form: values by field name, the refusals shown
 * under each field, and a refusal for the form as a whole.
 */
class FormState(val spec: FormSpec, carried: Map<String, FieldInput> = emptyMap()) {
    val values = mutableStateMapOf<String, FieldInput>()
    /** The core's refusals by field name, in both languages so a language switch keeps them. */
    val errors = mutableStateMapOf<String, LocalizedText>()
    var formError by mutableStateOf<LocalizedText?>(null)
    var busy by mutableStateOf(false)

    /** How many items each list field holds. */
    val listSizes = mutableStateMapOf<String, Int>()

    init {
        fun seed(fields: List<FieldSpec>, prefix: String) {
            for (f in fields) {
                val d = f.default
                if (d != null && f.kind != FieldKind.RATING && f.kind != FieldKind.LIST) values[prefix + f.name] = FieldInput.Text(d)
            }
        }
        seed(spec.fields, "")
        spec.fields.filter { it.kind == FieldKind.LIST }.forEach { list ->
            val n = if (list.required) 1 else 0
            listSizes[list.name] = n
            repeat(n) { i -> seed(list.itemFields, "${list.name}.$i.") }
        }
        values.putAll(carried)
    }

    /** The same form in another language, keeping what was entered. */
    fun relabelled(spec: FormSpec): FormState = FormState(spec, values.toMap()).also { next ->
        next.listSizes.putAll(listSizes)
        next.errors.putAll(errors)
        next.formError = formError
    }

    fun text(name: String): String = (values[name] as? FieldInput.Text)?.text ?: ""

    fun set(name: String, input: FieldInput?) {
        if (input == null) values.remove(name) else values[name] = input
        errors.remove(name)
        formError = null
    }

    fun isVisible(field: FieldSpec, prefix: String = ""): Boolean =
        field.visibleWhen?.let { (other, value) -> text(prefix + other).split(',').contains(value) } ?: true

    fun addItem(list: FieldSpec) {
        val i = listSizes[list.name] ?: 0
        listSizes[list.name] = i + 1
        list.itemFields.forEach { f -> f.default?.let { values["${list.name}.$i.${f.name}"] = FieldInput.Text(it) } }
    }

    fun removeLastItem(list: FieldSpec) {
        val n = listSizes[list.name] ?: 0
        if (n == 0) return
        list.itemFields.forEach { values.remove("${list.name}.${n - 1}.${it.name}") }
        listSizes[list.name] = n - 1
    }

    /** The non-empty values of the visible fields, in form order; multi-choice ids go one value each. */
    fun submission(): List<SubmittedValue> {
        val out = mutableListOf<SubmittedValue>()
        fun add(fields: List<FieldSpec>, prefix: String) {
            for (f in fields) {
                if (!isVisible(f, prefix)) continue
                if (f.kind == FieldKind.LIST) {
                    repeat(listSizes[f.name] ?: 0) { i -> add(f.itemFields, "${f.name}.$i.") }
                    continue
                }
                val name = prefix + f.name
                when (val v = values[name]) {
                    null -> {}
                    is FieldInput.Text -> when {
                        v.text.isBlank() -> {}
                        f.kind == FieldKind.MULTI_CHOICE ->
                            v.text.split(',').filter { it.isNotBlank() }.forEach { out.add(SubmittedValue(name, FieldInput.Text(it))) }
                        else -> out.add(SubmittedValue(name, FieldInput.Text(v.text.trim())))
                    }
                    else -> out.add(SubmittedValue(name, v))
                }
            }
        }
        add(spec.fields, "")
        return out
    }
}
