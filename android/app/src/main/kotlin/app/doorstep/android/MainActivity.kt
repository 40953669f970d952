package app.doorstep.android

import android.annotation.SuppressLint
import android.os.Bundle
import android.provider.Settings
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.compose.material3.MaterialTheme
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.remember
import androidx.lifecycle.ViewModelProvider
import androidx.lifecycle.viewmodel.initializer
import androidx.lifecycle.viewmodel.viewModelFactory
import app.doorstep.shell.Language
import java.util.Locale

/**
 * One activity: the enrolment screen until the phone is enrolled, then
 * today's list or the open visit, each under the sync badge. Owns only the
 * choice of screen and the view models' creation.
 */
class MainActivity : ComponentActivity() {
    private val app get() = application as DoorstepApplication
    private val lang = Language.fromTag(Locale.getDefault().toLanguageTag())

    /** Created once the phone is enrolled (it opens the store and starts sync). */
    private var visits: VisitViewModel? = null

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val enrolment = ViewModelProvider(
            this,
            viewModelFactory { initializer { EnrolmentViewModel(app.setup, deviceId(), lang) } },
        )[EnrolmentViewModel::class.java]
        setContent {
            MaterialTheme {
                val enrolled by enrolment.enrolled.collectAsState()
                if (!enrolled) {
                    EnrolmentScreen(enrolment)
                } else {
                    val vm = remember { visitViewModel() }
                    val open by vm.open.collectAsState()
                    if (open == null) TodayScreen(vm) else VisitFlowScreen(vm)
                }
            }
        }
    }

    /** Back in the foreground: sync now rather than at the next period. */
    override fun onStart() {
        super.onStart()
        visits?.syncNow()
    }

    private fun visitViewModel(): VisitViewModel = visits ?: ViewModelProvider(
        this,
        viewModelFactory { initializer { VisitViewModel(app.setup, app, lang) } },
    )[VisitViewModel::class.java].also { visits = it }

    /** This phone's id for enrolment: stable per app signing key, user and device. */
    @SuppressLint("HardwareIds")
    private fun deviceId(): String =
        "android-" + (Settings.Secure.getString(contentResolver, Settings.Secure.ANDROID_ID) ?: "unknown")
}
