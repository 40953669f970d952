//! The desktop build of the technician app: a window over the same
//! composables, enrolling against a doorstep-server (e.g. `--demo`), with
//! desktop stand-ins for the phone's services (dial and map hand-offs are
//! logged; the location comes from -Ddoorstep.location=lat,lon; a photo is
//! chosen from a file and watermarked with Skia).
package app.doorstep.ui.desktop

import androidx.compose.runtime.remember
import androidx.compose.ui.unit.DpSize
import androidx.compose.ui.unit.dp
import androidx.compose.ui.window.Window
import androidx.compose.ui.window.application
import androidx.compose.ui.window.rememberWindowState
import app.doorstep.shell.CoreResult
import app.doorstep.shell.DeviceSetup
import app.doorstep.shell.FileDeviceKey
import app.doorstep.shell.FileDiscountKey
import app.doorstep.shell.InMemoryEnrolmentVault
import app.doorstep.shell.Language
import app.doorstep.ui.CodeEnroller
import app.doorstep.ui.Enroller
import app.doorstep.ui.EnrolmentField
import app.doorstep.ui.EnrolmentStateHolder
import app.doorstep.ui.LocationReading
import app.doorstep.ui.MapIntents
import app.doorstep.ui.PlatformServices
import app.doorstep.ui.StoreBackend
import app.doorstep.ui.TechnicianApp
import app.doorstep.ui.TechnicianAppState
import java.io.File
import java.time.Clock

/** The desktop's stand-ins for the phone's services. */
fun desktopServices(): PlatformServices = PlatformServices(
    location = {
        System.getProperty("doorstep.location")?.split(',')?.mapNotNull { it.trim().toDoubleOrNull() }
            ?.takeIf { it.size == 2 }?.let { (lat, lon) -> LocationReading.Fix(lat, lon, 10.0) } ?: LocationReading.NoFix
    },
    dialer = { number -> println("[dial] tel:$number") },
    maps = { app, target -> println("[maps] ${MapIntents.uri(app, target)}") },
    camera = FileChooserCamera(),
    watermarker = SkiaWatermarker(),
)

/** Enrolment through the server, then the store and syncer of the enrolled phone. */
fun desktopEnroller(dataDir: File, clock: Clock): Enroller = Enroller { url, dispatcher, password, technician, device ->
    dataDir.mkdirs()
    // The desktop's device key and discount secret are files beside the store (a phone's are in its keystore).
    val setup = DeviceSetup(
        InMemoryEnrolmentVault(),
        File(dataDir, "$device.db").path,
        deviceKey = FileDeviceKey(File(dataDir, "$device.device-key")),
        discountKey = FileDiscountKey(File(dataDir, "$device.discount-key")),
    )
    when (val r = setup.enrol(url, dispatcher, password, technician, device)) {
        is CoreResult.Failed -> r
        is CoreResult.Ok -> {
            val store = setup.openStore() ?: error("an enrolled phone has a store")
            CoreResult.Ok(StoreBackend(store, setup.syncer(store), clock))
        }
    }
}

/** Enrolment with the center's one-time code, then the store and syncer of the enrolled phone. */
fun desktopCodeEnroller(dataDir: File, clock: Clock): CodeEnroller = CodeEnroller { codeOrLink, serverUrl ->
    dataDir.mkdirs()
    // The device id comes with the server's answer, after the store's path is
    // chosen: a data directory holds one phone enrolled by code.
    val vault = InMemoryEnrolmentVault()
    val setup = DeviceSetup(
        vault,
        File(dataDir, "code-enrolled.db").path,
        deviceKey = FileDeviceKey(File(dataDir, "code-enrolled.device-key")),
        discountKey = FileDiscountKey(File(dataDir, "code-enrolled.discount-key")),
    )
    when (val r = setup.enrolWithCode(codeOrLink, serverUrl)) {
        is CoreResult.Failed -> r
        is CoreResult.Ok -> {
            val store = setup.openStore() ?: error("an enrolled phone has a store")
            CoreResult.Ok(StoreBackend(store, setup.syncer(store), clock))
        }
    }
}

fun main() {
    val clock = Clock.systemUTC()
    val dataDir = File(System.getProperty("doorstep.data.dir") ?: (System.getProperty("user.home") + "/.doorstep-technician"))
    val defaults = mapOf(
        EnrolmentField.SERVER_URL to (System.getProperty("doorstep.server.url") ?: "http://127.0.0.1:8080"),
        EnrolmentField.DISPATCHER to "admin",
        EnrolmentField.DEVICE_ID to "desktop-1",
    )
    val language = Language.fromTag(System.getProperty("doorstep.language") ?: java.util.Locale.getDefault().toLanguageTag())
    application {
        val app = remember {
            TechnicianAppState(
                EnrolmentStateHolder(desktopEnroller(dataDir, clock), defaults, desktopCodeEnroller(dataDir, clock)),
                backend = null,
                services = desktopServices(),
                clock = clock,
                language = language,
            )
        }
        Window(onCloseRequest = ::exitApplication, title = "Doorstep", state = rememberWindowState(size = DpSize(420.dp, 860.dp))) {
            TechnicianApp(app)
        }
    }
}
