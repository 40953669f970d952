package app.doorstep.android

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.Spacer
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.layout.width
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.text.input.PasswordVisualTransformation
import androidx.compose.ui.unit.dp

/**
 * The enrolment screen, shown until the phone is enrolled: at handover a
 * dispatcher signs in on the phone and names its technician. Only collects
 * the fields and shows the outcome; [EnrolmentViewModel] runs it.
 */
@Composable
fun EnrolmentScreen(vm: EnrolmentViewModel) {
    val busy by vm.busy.collectAsState()
    val failure by vm.failure.collectAsState()
    var server by rememberSaveable { mutableStateOf("") }
    var dispatcher by rememberSaveable { mutableStateOf("") }
    // Not saved across process death on purpose.
    var password by remember { mutableStateOf("") }
    var technician by rememberSaveable { mutableStateOf("") }
    val complete = server.isNotBlank() && dispatcher.isNotBlank() && password.isNotEmpty() && technician.isNotBlank()

    Column(Modifier.padding(16.dp).verticalScroll(rememberScrollState())) {
        Text(stringResource(R.string.enrol_title), style = MaterialTheme.typography.headlineSmall)
        Text(stringResource(R.string.enrol_explain))
        OutlinedTextField(
            value = server,
            onValueChange = { server = it },
            label = { Text(stringResource(R.string.enrol_server)) },
            placeholder = { Text("https://doorstep.example.com") },
            singleLine = true,
            enabled = !busy,
            keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Uri),
            modifier = Modifier.fillMaxWidth(),
        )
        OutlinedTextField(
            value = dispatcher,
            onValueChange = { dispatcher = it },
            label = { Text(stringResource(R.string.enrol_dispatcher)) },
            singleLine = true,
            enabled = !busy,
            modifier = Modifier.fillMaxWidth(),
        )
        OutlinedTextField(
            value = password,
            onValueChange = { password = it },
            label = { Text(stringResource(R.string.enrol_password)) },
            singleLine = true,
            enabled = !busy,
            visualTransformation = PasswordVisualTransformation(),
            keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Password),
            modifier = Modifier.fillMaxWidth(),
        )
        OutlinedTextField(
            value = technician,
            onValueChange = { technician = it },
            label = { Text(stringResource(R.string.enrol_technician)) },
            singleLine = true,
            enabled = !busy,
            modifier = Modifier.fillMaxWidth(),
        )
        Text(stringResource(R.string.enrol_device, vm.deviceId), style = MaterialTheme.typography.bodySmall)
        failure?.let { f ->
            val text = when (f) {
                is EnrolmentViewModel.Failure.Core -> f.text
                EnrolmentViewModel.Failure.Vault -> stringResource(R.string.enrol_vault_failed)
            }
            Text(text, color = MaterialTheme.colorScheme.error)
        }
        Row(verticalAlignment = Alignment.CenterVertically) {
            Button(onClick = { vm.enrol(server, dispatcher, password, technician) }, enabled = complete && !busy) {
                Text(stringResource(R.string.enrol_button))
            }
            if (busy) {
                Spacer(Modifier.width(12.dp))
                CircularProgressIndicator(Modifier.size(20.dp), strokeWidth = 2.dp)
                Spacer(Modifier.width(8.dp))
                Text(stringResource(R.string.enrol_busy))
            }
        }
    }
}
