//! "扫码 / Scan QR code" before enrolment: the console's enrolment QR code
//! scanned into the shared enrolment screen's code field, from the Android
//! app alone (the shared screens have no scanner hook).
package app.doorstep.android

import android.content.Context
import android.content.res.Configuration
import androidx.activity.ComponentActivity
import androidx.annotation.MainThread
import androidx.compose.foundation.layout.defaultMinSize
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.remember
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.unit.dp
import app.doorstep.shell.Language
import app.doorstep.ui.DoorstepTheme
import app.doorstep.ui.EnrolmentField
import app.doorstep.ui.EnrolmentMode
import app.doorstep.ui.EnrolmentStateHolder
import app.doorstep.ui.UiText
import com.google.zxing.client.android.Intents
import com.journeyapps.barcodescanner.ScanContract
import com.journeyapps.barcodescanner.ScanOptions
import java.util.Locale

/**
 * Scans one QR code with zxing-android-embedded's capture activity
 * (`ScanContract`) and hands its text to [onScanned].
 *
 * [onScanned] is given at construction, not per scan: the launcher is
 * registered in the activity's `onCreate`, and when the activity is
 * recreated while the scanner is open (the phone rotated), the result
 * reaches the new activity's scanner and so the new enrolment form. The
 * CAMERA permission is asked first through [CameraPermission] (one dialog
 * and one explanation for photos and scans); the library would ask on its
 * own otherwise, and its refusal is explained the same way.
 */
class EnrolmentQrScanner(
    activity: ComponentActivity,
    private val permission: CameraPermission,
    private val onScanned: (String) -> Unit,
) {
    private val launcher = activity.registerForActivityResult(ScanContract()) { result ->
        val text = result.contents
        when {
            !text.isNullOrBlank() -> onScanned(text.trim())
            result.originalIntent?.hasExtra(Intents.Scan.MISSING_CAMERA_PERMISSION) == true -> permission.explainRefusal()
            // Otherwise the technician went back without scanning: nothing to do.
        }
    }

    /** Opens the scanner showing [prompt], once the camera is allowed. */
    @MainThread
    fun scan(prompt: String) {
        permission.request { granted ->
            if (granted) {
                launcher.launch(
                    ScanOptions()
                        .setDesiredBarcodeFormats(ScanOptions.QR_CODE)
                        .setPrompt(prompt)
                        .setBeepEnabled(false)
                        // Held as the phone is held (the manifest lets the capture activity turn).
                        .setOrientationLocked(false),
                )
            }
        }
    }
}

/**
 * Puts a scanned code or `doorstep://enrol?…` link into the code form,
 * switching to it from the dispatcher's sign-in; the technician still
 * presses "登记 / Enrol" (and sees what was scanned). A link names its
 * server, so the form then asks for nothing else.
 */
fun EnrolmentStateHolder.fillScannedCode(codeOrLink: String) {
    if (state.mode != EnrolmentMode.CODE) switchMode()
    edit(EnrolmentField.CODE, codeOrLink)
}

/**
 * The "扫码 / Scan QR code" button, in the app's language (its own switch,
 * not only the phone's locale). MainActivity lays it over the shared
 * screens' header row, whose start is empty (the language switch sits at
 * its end), with the same padding and touch height as that switch.
 */
@Composable
fun EnrolmentScanButton(language: Language, enabled: Boolean, onScan: (prompt: String) -> Unit, modifier: Modifier = Modifier) {
    val context = LocalContext.current
    val texts = remember(context, language) { context.inLanguage(language) }
    DoorstepTheme {
        TextButton(
            onClick = { onScan(texts.getString(R.string.scan_enrolment_prompt)) },
            enabled = enabled,
            modifier = modifier.padding(horizontal = 8.dp).defaultMinSize(minHeight = 48.dp).testTag("enrol-scan"),
        ) {
            UiText(texts.getString(R.string.scan_enrolment_code), maxLines = 1)
        }
    }
}

/** This context's resources in [language] (values-zh-rCN or the English default). */
private fun Context.inLanguage(language: Language): Context {
    val locale = if (language == Language.EN) Locale.ENGLISH else Locale.SIMPLIFIED_CHINESE
    return createConfigurationContext(Configuration(resources.configuration).apply { setLocale(locale) })
}
