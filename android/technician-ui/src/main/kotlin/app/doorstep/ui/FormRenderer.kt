//! The one generic form renderer: any action the core describes, one small
//! composable per field kind, the core's refusal under the field it names.
package app.doorstep.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.ExperimentalLayoutApi
import androidx.compose.foundation.layout.FlowRow
import androidx.compose.foundation.layout.PaddingValues
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.defaultMinSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.selection.selectable
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.RadioButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.semantics.Role
import androidx.compose.ui.text.font.FontWeight
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.text.input.PasswordVisualTransformation
import androidx.compose.ui.unit.dp
import app.doorstep.core.FieldKind
import app.doorstep.shell.pick
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/** Test tags: `field:<name>`, `error:<name>`, `option:<name>:<id>`, `submit:<action>`. */
object FormTags {
    fun field(name: String) = "field:$name"
    fun error(name: String) = "error:$name"
    fun option(name: String, id: String) = "option:$name:$id"
    fun submit(action: String) = "submit:${action}"
}

/** One action's form with its submit button; [onSubmit] runs the core's fill and sets refusals on [state]. */
@Composable
fun ActionForm(
    state: FormState,
    location: LocationProvider,
    onSubmit: (FormState) -> Unit,
    modifier: Modifier = Modifier,
    onPreview: (FormState) -> Unit = {},
    onCapture: ((FormState, String) -> Unit)? = null,
) {
    val s = LocalStrings.current
    val spec = state.spec
    if (spec.action == FormSpec.TAKE_PHOTO && onCapture != null) {
        PhotoCapture(state, onCapture, modifier)
        return
    }
    if (spec.isSignOff) {
        // The preview follows what the customer enters; the digest shown is the one signed.
        val key = listOf("ratings.quality", "ratings.attitude", "comment", "consent_text").map(state::text)
        LaunchedEffect(key) { onPreview(state) }
    }
    Section(spec.label + if (spec.required) " · ${s.required}" else "", modifier) {
        spec.help?.let { UiText(it, style = MaterialTheme.typography.bodyMedium) }
        if (spec.isSignOff) SignOffReportCard(state.reportLines)
        Fields(spec.fields, state, location)
        if (spec.isSignOff) SignOffPreviewCard(state.preview)
        state.formError?.let { ErrorText(it.pick(s.language), Modifier.testTag(FormTags.error(spec.action))) }
        BigButton(
            if (state.busy) s.submitting else s.submit,
            onClick = { onSubmit(state) },
            enabled = !state.busy,
            modifier = Modifier.testTag(FormTags.submit(spec.action)),
        )
    }
}

@Composable
private fun Fields(fields: List<FieldSpec>, state: FormState, location: LocationProvider) {
    for (f in fields) {
        if (!state.isVisible(f)) continue
        Field(f, f.name, state, location)
    }
}

@Composable
private fun Field(f: FieldSpec, name: String, state: FormState, location: LocationProvider) {
    Column(Modifier.fillMaxWidth(), verticalArrangement = Arrangement.spacedBy(4.dp)) {
        val label = f.label + if (f.required && !f.readOnly) " *" else ""
        when {
            f.readOnly -> ReadOnlyField(f, name, label, state)
            else -> EditableField(f, name, label, state, location)
        }
        f.help?.takeIf { f.kind != FieldKind.LIST }?.let { UiText(it, style = MaterialTheme.typography.bodySmall) }
        state.errors[name]?.let { ErrorText(it.pick(LocalStrings.current.language), Modifier.testTag(FormTags.error(name))) }
    }
}

/** A value shown, not edited: the consent text the customer signs under, the digest the screen showed. */
@Composable
private fun ReadOnlyField(f: FieldSpec, name: String, label: String, state: FormState) {
    if (f.name == FormSpec.SHOWN_DIGEST) return // shown by the preview card, set from the core's preview
    UiText(label, fontWeight = FontWeight.Medium)
    UiText(state.text(name).ifBlank { LocalStrings.current.notGiven }, Modifier.testTag(FormTags.field(name)), style = MaterialTheme.typography.bodyLarge)
}

@Composable
private fun EditableField(f: FieldSpec, name: String, label: String, state: FormState, location: LocationProvider) {
        when (f.kind) {
            FieldKind.TEXT, FieldKind.DATE_TIME, FieldKind.DATE, FieldKind.PHOTO -> TextInput(f, name, label, state)
            FieldKind.LONG_TEXT -> TextInput(f, name, label, state, lines = 3)
            FieldKind.INTEGER, FieldKind.DURATION -> TextInput(f, name, label, state, keyboard = KeyboardType.Number)
            FieldKind.MONEY -> TextInput(f, name, label, state, keyboard = KeyboardType.Decimal)
            FieldKind.CHOICE -> ChoiceInput(f, name, label, state)
            FieldKind.MULTI_CHOICE -> MultiChoiceInput(f, name, label, state)
            FieldKind.YES_NO -> YesNoInput(f, name, label, state)
            FieldKind.RATING -> RatingInput(name, label, state)
            FieldKind.SIGNATURE -> SignatureInput(name, label, state)
            FieldKind.LOCATION -> LocationInput(name, label, state, location)
            FieldKind.LIST -> ListInput(f, label, state, location)
        }
}

@Composable
private fun TextInput(f: FieldSpec, name: String, label: String, state: FormState, lines: Int = 1, keyboard: KeyboardType = KeyboardType.Text) {
    val s = LocalStrings.current
    val hint = when (f.kind) {
        FieldKind.MONEY -> s.yuanHint
        FieldKind.DATE_TIME -> s.dateTimeHint
        FieldKind.DATE -> s.dateHint
        FieldKind.PHOTO -> s.photoHint
        else -> null
    }
    OutlinedTextField(
        value = state.text(name),
        onValueChange = { state.set(name, FieldInput.Text(it)) },
        label = { UiText(label, maxLines = 1) },
        placeholder = hint?.let { { UiText(it, maxLines = 1) } },
        prefix = if (f.kind == FieldKind.MONEY) ({ UiText("¥") }) else null,
        suffix = if (f.kind == FieldKind.DURATION) ({ UiText(s.minutes) }) else null,
        isError = state.errors.containsKey(name),
        singleLine = lines == 1,
        minLines = lines,
        keyboardOptions = KeyboardOptions(keyboardType = keyboard),
        visualTransformation = if (f.name == "password") PasswordVisualTransformation() else androidx.compose.ui.text.input.VisualTransformation.None,
        modifier = Modifier.fillMaxWidth().testTag(FormTags.field(name)),
    )
}

@Composable
private fun ChoiceInput(f: FieldSpec, name: String, label: String, state: FormState) {
    UiText(label, fontWeight = FontWeight.Medium)
    val selected = state.text(name)
    if (f.options.size <= 4) {
        Column(Modifier.testTag(FormTags.field(name))) {
            for (o in f.options) {
                Row(
                    Modifier.fillMaxWidth().defaultMinSize(minHeight = TouchTarget)
                        .selectable(selected == o.id, role = Role.RadioButton) { state.set(name, FieldInput.Text(o.id)) }
                        .testTag(FormTags.option(name, o.id)),
                    verticalAlignment = Alignment.CenterVertically,
                ) {
                    RadioButton(selected = selected == o.id, onClick = null)
                    UiText(o.label, Modifier.padding(start = 8.dp))
                }
            }
        }
    } else {
        Chips(f.options, name, { it == selected }) { id -> state.set(name, FieldInput.Text(id)) }
    }
}

@Composable
private fun MultiChoiceInput(f: FieldSpec, name: String, label: String, state: FormState) {
    UiText(label, fontWeight = FontWeight.Medium)
    val chosen = state.text(name).split(',').filter { it.isNotBlank() }
    Chips(f.options, name, { it in chosen }) { id ->
        val next = if (id in chosen) chosen - id else chosen + id
        state.set(name, if (next.isEmpty()) null else FieldInput.Text(next.joinToString(",")))
    }
}

@OptIn(ExperimentalLayoutApi::class)
@Composable
private fun Chips(options: List<ChoiceSpec>, name: String, isOn: (String) -> Boolean, toggle: (String) -> Unit) {
    FlowRow(Modifier.fillMaxWidth().testTag(FormTags.field(name)), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
        for (o in options) {
            FilterChip(
                selected = isOn(o.id),
                onClick = { toggle(o.id) },
                label = { UiText(o.label) },
                modifier = Modifier.defaultMinSize(minHeight = 48.dp).testTag(FormTags.option(name, o.id)),
            )
        }
    }
}

@Composable
private fun YesNoInput(f: FieldSpec, name: String, label: String, state: FormState) {
    val s = LocalStrings.current
    ChoiceInput(f.copy(options = listOf(ChoiceSpec("yes", s.yes), ChoiceSpec("no", s.no))), name, label, state)
}

@Composable
private fun RatingInput(name: String, label: String, state: FormState) {
    val s = LocalStrings.current
    val current = state.text(name).toIntOrNull()
    UiText(label, fontWeight = FontWeight.Medium)
    Row(Modifier.fillMaxWidth().testTag(FormTags.field(name)), horizontalArrangement = Arrangement.spacedBy(4.dp)) {
        for (n in 1..5) {
            val on = current != null && n <= current
            val pick = { state.set(name, FieldInput.Text(n.toString())) }
            val m = Modifier.weight(1f).defaultMinSize(minHeight = TouchTarget).testTag(FormTags.option(name, n.toString()))
            if (on) {
                Button(onClick = pick, modifier = m, contentPadding = PaddingValues(0.dp)) { UiText("★$n", maxLines = 1) }
            } else {
                OutlinedButton(onClick = pick, modifier = m, contentPadding = PaddingValues(0.dp)) { UiText("☆$n", maxLines = 1) }
            }
        }
    }
    UiText(current?.let { s.ratingOf(it) } ?: s.noRatingYet, style = MaterialTheme.typography.bodySmall)
}

@Composable
private fun SignatureInput(name: String, label: String, state: FormState) {
    val s = LocalStrings.current
    UiText(label, fontWeight = FontWeight.Medium)
    val strokes = (state.values[name] as? FieldInput.Strokes)?.strokes ?: emptyList()
    SignaturePad(strokes, { state.set(name, if (it.isEmpty()) null else FieldInput.Strokes(it)) }, Modifier.testTag(FormTags.field(name)))
    BigOutlinedButton(s.clear, onClick = { state.set(name, null) })
}

@Composable
private fun LocationInput(name: String, label: String, state: FormState, location: LocationProvider) {
    val s = LocalStrings.current
    val scope = rememberCoroutineScope()
    UiText(label, fontWeight = FontWeight.Medium)
    when (val r = (state.values[name] as? FieldInput.Located)?.reading) {
        is LocationReading.Fix -> UiText(s.locationFix(r.lat, r.lon, r.accuracyM))
        LocationReading.PermissionDenied -> UiText(s.locationDenied)
        LocationReading.NoFix -> UiText(s.locationNoFix)
        null -> {}
    }
    BigOutlinedButton(s.getLocation, modifier = Modifier.testTag(FormTags.field(name)), onClick = {
        scope.launch {
            val reading = withContext(Dispatchers.IO) { location.current() }
            state.set(name, FieldInput.Located(reading))
        }
    })
}

@Composable
private fun ListInput(f: FieldSpec, label: String, state: FormState, location: LocationProvider) {
    val s = LocalStrings.current
    UiText(label, fontWeight = FontWeight.Medium)
    f.help?.let { UiText(it, style = MaterialTheme.typography.bodySmall) }
    val n = state.listSizes[f.name] ?: 0
    for (i in 0 until n) {
        Column(Modifier.fillMaxWidth().padding(start = 12.dp), verticalArrangement = Arrangement.spacedBy(4.dp)) {
            UiText("${i + 1}.", fontWeight = FontWeight.Bold)
            for (sub in f.itemFields) Field(sub, FormSpec.rowField(f.name, i, sub.name), state, location)
        }
    }
    Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
        BigOutlinedButton(s.addItem, onClick = { state.addItem(f) }, modifier = Modifier.weight(1f).testTag("add:${f.name}"))
        if (n > 0) BigOutlinedButton(s.removeItem, onClick = { state.removeLastItem(f) }, modifier = Modifier.weight(1f))
    }
}

/**
 * The photo moments the visit asks for now, each a button that opens the
 * camera: the picture is watermarked and recorded by the core (no digest
 * or size typed). A refusal shows under the buttons.
 */
@Composable
private fun PhotoCapture(state: FormState, onCapture: (FormState, String) -> Unit, modifier: Modifier) {
    val s = LocalStrings.current
    val moments = state.spec.fields.firstOrNull { it.name == "moment" }?.options.orEmpty()
    Section(state.spec.label, modifier) {
        state.spec.help?.let { UiText(it, style = MaterialTheme.typography.bodyMedium) }
        for (m in moments) {
            BigButton(
                s.takePhotoOf(m.label),
                onClick = { onCapture(state, m.id) },
                enabled = !state.busy,
                modifier = Modifier.testTag("capture:${m.id}"),
            )
        }
        state.formError?.let { ErrorText(it.pick(s.language), Modifier.testTag(FormTags.error(state.spec.action))) }
    }
}

/** The report the customer reads before rating and signing: a line per fact, as the core reads it out. */
@Composable
private fun SignOffReportCard(lines: List<app.doorstep.core.ReportLine>) {
    if (lines.isEmpty()) return
    val s = LocalStrings.current
    Column(Modifier.fillMaxWidth().testTag("signoff-report"), verticalArrangement = Arrangement.spacedBy(4.dp)) {
        UiText(s.signOffReport, fontWeight = FontWeight.Bold)
        for (line in lines) {
            Row(Modifier.fillMaxWidth(), horizontalArrangement = Arrangement.spacedBy(12.dp)) {
                UiText(line.label.pick(s.language), modifier = Modifier.weight(0.35f), style = MaterialTheme.typography.bodyMedium)
                UiText(line.value.pick(s.language), modifier = Modifier.weight(0.65f))
            }
        }
    }
}

/** What the customer signs, as the core previewed it: ratings, comment, consent and the report's digest. */
@Composable
private fun SignOffPreviewCard(preview: SignOffPreview?) {
    val s = LocalStrings.current
    Column(Modifier.fillMaxWidth().testTag("signoff-preview"), verticalArrangement = Arrangement.spacedBy(4.dp)) {
        UiText(s.signOffPreview, fontWeight = FontWeight.Bold)
        if (preview == null) {
            UiText(s.previewAfterRatings, style = MaterialTheme.typography.bodySmall)
            return@Column
        }
        UiText(s.ratingsLine(preview.quality, preview.attitude))
        preview.comment?.let { UiText(s.commentLine(it)) }
        UiText(preview.consent)
        UiText(s.reportDigestLine(preview.digest.short), fontWeight = FontWeight.Medium, modifier = Modifier.testTag("signoff-digest"))
    }
}
