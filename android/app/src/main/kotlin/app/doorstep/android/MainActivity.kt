package app.doorstep.android

import android.os.Bundle
import android.provider.Settings
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.compose.material3.MaterialTheme
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import app.doorstep.shell.Language
import java.util.Locale

/** One activity; the screens switch on whether a visit is open. */
class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val lang = Language.fromTag(Locale.getDefault().toLanguageTag())
        // Enrolment (device and technician ids) comes with the sync issue;
        // until then the device id is derived from the Android id.
        val deviceId = "android-" + Settings.Secure.getString(contentResolver, Settings.Secure.ANDROID_ID)
        val vm = VisitViewModel(filesDir.resolve("doorstep.db").path, deviceId, "T-local", "Technician", lang)
        vm.refreshToday()
        setContent {
            MaterialTheme {
                val open by vm.open.collectAsState()
                if (open == null) TodayScreen(vm) else VisitFlowScreen(vm)
            }
        }
    }
}
