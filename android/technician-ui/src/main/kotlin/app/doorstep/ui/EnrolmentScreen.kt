//! Enrolment at handover: server address, dispatcher sign-in, device and
//! technician ids — or the center's one-time code (the console's QR code,
//! no staff password on the phone). [EnrolmentStateHolder] checks the
//! fields and runs the enrolment off the UI thread; the screen only draws
//! its state.
package app.doorstep.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.text.input.PasswordVisualTransformation
import androidx.compose.ui.text.input.VisualTransformation
import androidx.compose.ui.unit.dp
import app.doorstep.core.LocalizedText
import app.doorstep.shell.CoreResult
import app.doorstep.shell.Language
import app.doorstep.shell.pick

/** The enrolment form's fields, in screen order. */
enum class EnrolmentField { CODE, SERVER_URL, DISPATCHER, PASSWORD, DEVICE_ID, TECHNICIAN_ID }

/** How the phone enrols: a dispatcher signs in on it, or the center's one-time code. */
enum class EnrolmentMode(val fields: List<EnrolmentField>) {
    DISPATCHER(listOf(EnrolmentField.SERVER_URL, EnrolmentField.DISPATCHER, EnrolmentField.PASSWORD, EnrolmentField.DEVICE_ID, EnrolmentField.TECHNICIAN_ID)),
    CODE(listOf(EnrolmentField.CODE, EnrolmentField.SERVER_URL)),
}

/** What the enrolment screen shows. */
data class EnrolmentUiState(
    val values: Map<EnrolmentField, String>,
    val missing: Set<EnrolmentField>,
    val refusal: LocalizedText?,
    val busy: Boolean,
    val mode: EnrolmentMode = EnrolmentMode.DISPATCHER,
    /** Whether this phone can enrol with a code (an enroller for it was given). */
    val codeOffered: Boolean = false,
) {
    /** The fields the mode needs: a scanned link names the server, a typed code does not. */
    val fields: List<EnrolmentField>
        get() = if (mode == EnrolmentMode.CODE && isEnrolmentLink(values[EnrolmentField.CODE] ?: "")) {
            listOf(EnrolmentField.CODE)
        } else {
            mode.fields
        }
}

/** Performs the enrolment (blocking network call); returns the backend of the enrolled phone or the core's refusal. */
fun interface Enroller {
    fun enrol(serverUrl: String, dispatcher: String, password: String, technicianId: String, deviceId: String): CoreResult<TechnicianBackend>
}

/**
 * Enrols with the center's one-time code (blocking network call): [codeOrLink]
 * is the scanned `doorstep://enrol?server=…&code=…` (which names the server)
 * or the code as typed, with [serverUrl].
 */
fun interface CodeEnroller {
    fun enrolWithCode(codeOrLink: String, serverUrl: String): CoreResult<TechnicianBackend>
}

/** Whether [text] is the center's QR link, which names the server itself. */
fun isEnrolmentLink(text: String): Boolean = text.trim().startsWith("doorstep://")

class EnrolmentStateHolder(
    private val enroller: Enroller,
    defaults: Map<EnrolmentField, String> = emptyMap(),
    private val codeEnroller: CodeEnroller? = null,
) {
    var state by mutableStateOf(
        EnrolmentUiState(EnrolmentField.entries.associateWith { defaults[it] ?: "" }, emptySet(), null, false, codeOffered = codeEnroller != null),
    )
        private set

    fun edit(field: EnrolmentField, value: String) {
        val edited = state.copy(values = state.values + (field to value), refusal = null)
        // A field no longer asked for (the server, once a link is pasted) is no longer missing.
        state = edited.copy(missing = (state.missing - field).intersect(edited.fields.toSet()))
    }

    /** Switches between the dispatcher's sign-in and the one-time code (when offered). */
    fun switchMode() {
        if (codeEnroller == null) return
        val next = if (state.mode == EnrolmentMode.CODE) EnrolmentMode.DISPATCHER else EnrolmentMode.CODE
        state = state.copy(mode = next, missing = emptySet(), refusal = null)
    }

    /** Checks the fields; when all are there, enrols (call from a background thread) and returns the backend. */
    fun enrol(): TechnicianBackend? {
        val missing = state.fields.filter { state.values[it].isNullOrBlank() }.toSet()
        if (missing.isNotEmpty()) {
            state = state.copy(missing = missing)
            return null
        }
        state = state.copy(busy = true, refusal = null)
        val v = state.values.mapValues { it.value.trim() }
        val result = when (state.mode) {
            EnrolmentMode.CODE -> codeEnroller!!.enrolWithCode(v.getValue(EnrolmentField.CODE), v.getValue(EnrolmentField.SERVER_URL))
            EnrolmentMode.DISPATCHER -> enroller.enrol(
                v.getValue(EnrolmentField.SERVER_URL), v.getValue(EnrolmentField.DISPATCHER), v.getValue(EnrolmentField.PASSWORD),
                v.getValue(EnrolmentField.TECHNICIAN_ID), v.getValue(EnrolmentField.DEVICE_ID),
            )
        }
        return when (result) {
            is CoreResult.Ok -> {
                state = state.copy(busy = false)
                result.value
            }
            is CoreResult.Failed -> {
                state = state.copy(busy = false, refusal = LocalizedText(result.en, result.zh))
                null
            }
        }
    }
}

fun UiStrings.label(field: EnrolmentField): String = when (field) {
    EnrolmentField.CODE -> enrolmentCode
    EnrolmentField.SERVER_URL -> serverUrl
    EnrolmentField.DISPATCHER -> dispatcher
    EnrolmentField.PASSWORD -> password
    EnrolmentField.DEVICE_ID -> deviceId
    EnrolmentField.TECHNICIAN_ID -> technicianId
}

@Composable
fun EnrolmentScreen(
    state: EnrolmentUiState,
    onEdit: (EnrolmentField, String) -> Unit,
    onEnrol: () -> Unit,
    modifier: Modifier = Modifier,
    onSwitchMode: () -> Unit = {},
) {
    val s = LocalStrings.current
    Column(
        modifier.fillMaxSize().verticalScroll(rememberScrollState()).padding(16.dp).testTag("enrol-screen"),
        verticalArrangement = Arrangement.spacedBy(12.dp),
    ) {
        UiText(s.enrolTitle, style = MaterialTheme.typography.headlineSmall, maxLines = 1)
        UiText(if (state.mode == EnrolmentMode.CODE) s.enrolByCodeHelp else s.enrolHelp, style = MaterialTheme.typography.bodyMedium)
        if (state.codeOffered) {
            TextButton(onClick = onSwitchMode, modifier = Modifier.testTag("enrol-mode")) {
                UiText(if (state.mode == EnrolmentMode.CODE) s.enrolByDispatcher else s.enrolByCode, maxLines = 1)
            }
        }
        for (f in state.fields) {
            OutlinedTextField(
                value = state.values[f] ?: "",
                onValueChange = { onEdit(f, it) },
                label = { UiText(s.label(f), maxLines = 1) },
                singleLine = true,
                isError = f in state.missing,
                visualTransformation = if (f == EnrolmentField.PASSWORD) PasswordVisualTransformation() else VisualTransformation.None,
                modifier = Modifier.fillMaxWidth().testTag("enrol:${f.name.lowercase()}"),
            )
            if (f in state.missing) ErrorText(s.missing(s.label(f)))
        }
        state.refusal?.let { ErrorText(it.pick(s.language), Modifier.testTag("enrol-refusal")) }
        BigButton(if (state.busy) s.enrolling else s.enrol, onClick = onEnrol, enabled = !state.busy, modifier = Modifier.testTag("enrol"))
    }
}

/** Whether the screens show [Language.EN]; Chinese first. */
fun Language.other(): Language = if (this == Language.EN) Language.ZH else Language.EN
