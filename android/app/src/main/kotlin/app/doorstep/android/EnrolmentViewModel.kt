package app.doorstep.android

import android.util.Log
import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.doorstep.shell.CoreResult
import app.doorstep.shell.DeviceSetup
import app.doorstep.shell.Language
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/**
 * Owns the enrolment screen's state: whether the phone is enrolled, whether
 * an enrolment is running, and why the last one failed. The enrolment itself
 * (server call, store creation, vault write) is the shell's
 * [DeviceSetup.enrol], run on the IO dispatcher.
 */
class EnrolmentViewModel(private val setup: DeviceSetup, val deviceId: String, private val lang: Language) : ViewModel() {
    /** Why enrolment failed: the core's text, or the phone's own secure storage refusing. */
    sealed interface Failure {
        data class Core(val code: String, val text: String) : Failure
        data object Vault : Failure
    }

    private val _enrolled = MutableStateFlow(setup.enrolled)
    val enrolled: StateFlow<Boolean> = _enrolled

    private val _busy = MutableStateFlow(false)
    val busy: StateFlow<Boolean> = _busy

    private val _failure = MutableStateFlow<Failure?>(null)
    val failure: StateFlow<Failure?> = _failure

    fun enrol(serverUrl: String, dispatcher: String, password: String, technicianId: String) {
        if (_busy.value) return
        _busy.value = true
        _failure.value = null
        viewModelScope.launch {
            val result = withContext(Dispatchers.IO) {
                try {
                    setup.enrol(serverUrl.trim(), dispatcher.trim(), password, technicianId.trim(), deviceId)
                } catch (e: Exception) {
                    // Not the core's: the Keystore or the preferences file failed.
                    Log.e(DoorstepApplication.TAG, "enrolment could not be kept", e)
                    null
                }
            }
            _busy.value = false
            when (result) {
                is CoreResult.Ok -> _enrolled.value = true
                is CoreResult.Failed -> _failure.value = Failure.Core(result.code, result.text(lang))
                null -> _failure.value = Failure.Vault
            }
        }
    }
}
