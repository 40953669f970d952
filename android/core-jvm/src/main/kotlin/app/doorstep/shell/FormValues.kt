package app.doorstep.shell

import app.doorstep.core.FieldValue
import app.doorstep.core.FormValue
import app.doorstep.core.Location
import app.doorstep.core.LocationUnavailable
import app.doorstep.core.SignatureStroke

/**
 * The values a screen collected for an action's form (`ActionForm` from the
 * core), by field name. The core fills them into the command
 * (`submitAction`); no shell writes command JSON. Text is typed as the form
 * says (money as yuan: "168.5"), yes/no as booleans, a multi-choice as a
 * list of option ids, list rows as maps (`quote.lines[0].item`), a location
 * as a fix or the reason there is none, a signature as its strokes.
 */
object FormValues {
    fun text(name: String, value: String) = FormValue(name, FieldValue.Text(value))

    fun of(vararg fields: Pair<String, Any?>): List<FormValue> = fields.flatMap { (name, v) -> valuesOf(name, v) }

    private fun valuesOf(name: String, v: Any?): List<FormValue> = when (v) {
        null -> emptyList()
        is String -> listOf(text(name, v))
        is Boolean -> listOf(text(name, if (v) "yes" else "no"))
        is Number, is UInt, is ULong -> listOf(text(name, v.toString()))
        is Location -> listOf(FormValue(name, FieldValue.Fix(v)))
        is LocationUnavailable -> listOf(FormValue(name, FieldValue.NoLocation(v)))
        is List<*> -> when {
            v.isNotEmpty() && v.all { it is SignatureStroke } ->
                listOf(FormValue(name, FieldValue.Strokes(v.filterIsInstance<SignatureStroke>())))
            else -> v.flatMapIndexed { i, item ->
                when (item) {
                    is Map<*, *> -> item.flatMap { (k, x) -> valuesOf("$name[$i].$k", x) }
                    else -> valuesOf(name, item)
                }
            }
        }
        else -> throw IllegalArgumentException("field $name: cannot type a ${v::class.simpleName}")
    }
}
