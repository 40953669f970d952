//! Enrolment at handover: server address, dispatcher sign-in, device and
//! technician ids. [EnrolmentStateHolder] checks the fields and runs the
//! enrolment off the UI thread; the screen only draws its state.
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
enum class EnrolmentField { SERVER_URL, DISPATCHER, PASSWORD, DEVICE_ID, TECHNICIAN_ID }

/** What the enrolment screen shows. */
data class EnrolmentUiState(
    val values: Map<EnrolmentField, String>,
    val missing: Set<EnrolmentField>,
    val refusal: LocalizedText?,
    val busy: Boolean,
)

/** Performs the enrolment (blocking network call); returns the backend of the enrolled phone or the core's refusal. */
fun interface Enroller {
    fun enrol(serverUrl: String, dispatcher: String, password: String, technicianId: String, deviceId: String): CoreResult<TechnicianBackend>
}

class EnrolmentStateHolder(private val enroller: Enroller, defaults: Map<EnrolmentField, String> = emptyMap()) {
    var state by mutableStateOf(EnrolmentUiState(EnrolmentField.entries.associateWith { defaults[it] ?: "" }, emptySet(), null, false))
        private set

    fun edit(field: EnrolmentField, value: String) {
        state = state.copy(values = state.values + (field to value), missing = state.missing - field, refusal = null)
    }

    /** Checks the fields; when all are there, enrols (call from a background thread) and returns the backend. */
    fun enrol(): TechnicianBackend? {
        val missing = state.values.filterValues { it.isBlank() }.keys
        if (missing.isNotEmpty()) {
            state = state.copy(missing = missing)
            return null
        }
        state = state.copy(busy = true, refusal = null)
        val v = state.values.mapValues { it.value.trim() }
        val result = enroller.enrol(
            v.getValue(EnrolmentField.SERVER_URL), v.getValue(EnrolmentField.DISPATCHER), v.getValue(EnrolmentField.PASSWORD),
            v.getValue(EnrolmentField.TECHNICIAN_ID), v.getValue(EnrolmentField.DEVICE_ID),
        )
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
) {
    val s = LocalStrings.current
    Column(
        modifier.fillMaxSize().verticalScroll(rememberScrollState()).padding(16.dp).testTag("enrol-screen"),
        verticalArrangement = Arrangement.spacedBy(12.dp),
    ) {
        UiText(s.enrolTitle, style = MaterialTheme.typography.headlineSmall, maxLines = 1)
        UiText(s.enrolHelp, style = MaterialTheme.typography.bodyMedium)
        for (f in EnrolmentField.entries) {
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
