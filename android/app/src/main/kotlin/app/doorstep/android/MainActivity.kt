package app.doorstep.android

import android.annotation.SuppressLint
import android.os.Bundle
import android.provider.Settings
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import app.doorstep.core.DeviceStore
import app.doorstep.shell.CoreResult
import app.doorstep.shell.Language
import app.doorstep.ui.EnrolmentField
import app.doorstep.ui.EnrolmentStateHolder
import app.doorstep.ui.CodeEnroller
import app.doorstep.ui.Enroller
import app.doorstep.ui.StoreBackend
import app.doorstep.ui.TechnicianApp
import app.doorstep.ui.TechnicianAppState
import app.doorstep.ui.TechnicianBackend
import java.time.Clock
import java.util.Locale

/**
 * One activity hosting the shared technician screens (technician-ui's
 * `TechnicianApp`, compiled into this app as a source set) with the phone's
 * services: the Keystore enrolment vault, the process's sync loop, the
 * location permission, the dialer, the map apps, the camera app for
 * evidence photos, and "扫码 / Scan QR code" on the enrolment screen. The
 * same composables are tested headless on the JVM; only this wiring is
 * Android's.
 */
class MainActivity : ComponentActivity() {
    private val app get() = application as DoorstepApplication
    private val clock = Clock.systemUTC()

    private var store: DeviceStore? = null
    private var sync: SyncController? = null

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        // Registered before the activity starts, as the result API requires.
        val permission = LocationPermission(this)
        val cameraPermission = CameraPermission(this)
        val camera = SystemCameraApp(this, cameraPermission)
        val enrolment = EnrolmentStateHolder(enroller(), mapOf(EnrolmentField.DEVICE_ID to deviceId()), codeEnroller())
        val scanner = EnrolmentQrScanner(this, cameraPermission, onScanned = enrolment::fillScannedCode)
        val state = TechnicianAppState(
            enrolment,
            backend = if (app.setup.enrolled) backend() else null,
            services = AndroidServices.of(this, permission, camera),
            clock = clock,
            language = Language.fromTag(Locale.getDefault().toLanguageTag()),
        )
        setContent {
            Box(Modifier.fillMaxSize()) {
                TechnicianApp(state)
                // Before enrolment: scan the console's QR code into the code form (the shared screen has no scanner).
                if (state.backend == null && state.enrolment.state.codeOffered) {
                    EnrolmentScanButton(
                        language = state.language,
                        enabled = !state.enrolment.state.busy,
                        onScan = scanner::scan,
                        modifier = Modifier.align(Alignment.TopStart),
                    )
                }
            }
        }
    }

    /** Enrolment through the server (a dispatcher signs in at handover), kept in the Keystore vault. */
    private fun enroller() = Enroller { url, dispatcher, password, technician, device ->
        when (val r = app.setup.enrol(url, dispatcher, password, technician, device)) {
            is CoreResult.Failed -> r
            is CoreResult.Ok -> CoreResult.Ok(runOnMain { backend() })
        }
    }

    /** Enrolment with the center's one-time code (the QR link pasted or typed; no staff password), kept in the Keystore vault. */
    private fun codeEnroller() = CodeEnroller { codeOrLink, serverUrl ->
        when (val r = app.setup.enrolWithCode(codeOrLink, serverUrl)) {
            is CoreResult.Failed -> r
            is CoreResult.Ok -> CoreResult.Ok(runOnMain { backend() })
        }
    }

    /** The enrolled phone's screens: its store, and "sync now" through the process's sync loop. */
    private fun backend(): TechnicianBackend {
        val opened = app.setup.openStore() ?: error("an enrolled phone has a store")
        val service = app.syncService() ?: error("an enrolled phone has a sync service")
        val loop = SyncController(this, service).also { it.start() }
        store = opened
        sync = loop
        // "Today" and the times shown are the business time zone's, which the store keeps.
        return LoopBackend(StoreBackend(opened, syncer = null, clock = clock), loop)
    }

    private fun <T> runOnMain(block: () -> T): T {
        val result = java.util.concurrent.CompletableFuture<T>()
        runOnUiThread { result.complete(block()) }
        return result.get()
    }

    override fun onDestroy() {
        sync?.close()
        store?.close()
        super.onDestroy()
    }

    /** This phone's id for enrolment: stable per app signing key, user and device. */
    @SuppressLint("HardwareIds")
    private fun deviceId(): String =
        "android-" + (Settings.Secure.getString(contentResolver, Settings.Secure.ANDROID_ID) ?: "unknown")
}
