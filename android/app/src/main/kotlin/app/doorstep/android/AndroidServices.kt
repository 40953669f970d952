package app.doorstep.android

import android.Manifest
import android.content.ActivityNotFoundException
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import android.location.Location
import android.location.LocationManager
import android.net.Uri
import android.os.CancellationSignal
import android.os.Handler
import android.os.Looper
import android.util.Log
import androidx.activity.ComponentActivity
import androidx.activity.result.contract.ActivityResultContracts
import androidx.core.content.ContextCompat
import androidx.core.location.LocationManagerCompat
import app.doorstep.ui.Camera
import app.doorstep.ui.Dialer
import app.doorstep.ui.LocationProvider
import app.doorstep.ui.LocationReading
import app.doorstep.ui.MapApp
import app.doorstep.ui.MapIntents
import app.doorstep.ui.MapTarget
import app.doorstep.ui.MapsLauncher
import app.doorstep.ui.PlatformServices
import java.util.concurrent.CompletableFuture
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.TimeoutException

/**
 * The phone's own services behind the shared screens' interfaces
 * (technician-ui's `Platform.kt`): the location with its runtime permission,
 * the dialer, the map apps' hand-off, and the camera app with the
 * watermark burned in by `Bitmap` and `Canvas` (so the visit shows a
 * "拍照：…" button per photo moment instead of the `take_photo` form).
 * Everything else the screens need comes from the core through the bindings.
 */
object AndroidServices {
    fun of(activity: ComponentActivity, permission: LocationPermission, camera: Camera): PlatformServices = PlatformServices(
        location = AndroidLocation(activity.applicationContext, permission),
        dialer = AndroidDialer(activity),
        maps = AndroidMaps(activity),
        camera = camera,
        watermarker = BitmapWatermarker(),
    )
}

/**
 * Asks for the location permission the first time a screen needs a fix.
 * Registered in the activity's `onCreate` (the result API requires it);
 * [request] blocks its caller, never the UI thread, until the technician
 * answers the system dialog.
 */
class LocationPermission(private val activity: ComponentActivity) {
    private val main = Handler(Looper.getMainLooper())

    @Volatile private var pending: CompletableFuture<Boolean>? = null

    private val launcher = activity.registerForActivityResult(ActivityResultContracts.RequestMultiplePermissions()) { answers ->
        pending?.complete(answers.values.any { it })
        pending = null
    }

    fun granted(): Boolean = PERMISSIONS.any {
        ContextCompat.checkSelfPermission(activity, it) == PackageManager.PERMISSION_GRANTED
    }

    /** Shows the system dialog (on the main thread) and waits for the answer; false when refused or dismissed. */
    fun request(): Boolean {
        if (granted()) return true
        val answer = CompletableFuture<Boolean>()
        main.post {
            pending = answer
            launcher.launch(PERMISSIONS)
        }
        return try {
            answer.get(2, TimeUnit.MINUTES)
        } catch (e: TimeoutException) {
            false
        }
    }

    companion object {
        val PERMISSIONS = arrayOf(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION)
    }
}

/**
 * A current WGS-84 fix from the platform's LocationManager (no Google Play
 * services: many phones sold in China have none). A refused permission and
 * "no fix in time" are answers of their own, recorded by the core as such.
 */
class AndroidLocation(
    private val context: Context,
    private val permission: LocationPermission,
    private val timeoutSeconds: Long = 20,
) : LocationProvider {
    private val executor = Executors.newSingleThreadExecutor()

    override fun current(): LocationReading {
        if (!permission.request()) return LocationReading.PermissionDenied
        val manager = context.getSystemService(LocationManager::class.java) ?: return LocationReading.NoFix
        val provider = listOf(LocationManager.GPS_PROVIDER, LocationManager.NETWORK_PROVIDER)
            .firstOrNull { runCatching { manager.isProviderEnabled(it) }.getOrDefault(false) }
            ?: return LocationReading.NoFix
        val fix = CompletableFuture<Location?>()
        val cancel = CancellationSignal()
        try {
            LocationManagerCompat.getCurrentLocation(manager, provider, cancel, executor) { fix.complete(it) }
        } catch (e: SecurityException) {
            return LocationReading.PermissionDenied
        }
        val location = try {
            fix.get(timeoutSeconds, TimeUnit.SECONDS)
        } catch (e: TimeoutException) {
            cancel.cancel()
            null
        } ?: return LocationReading.NoFix
        return LocationReading.Fix(location.latitude, location.longitude, location.accuracy.toDouble())
    }
}

/** Opens the dialer with the number filled in; the technician presses call. */
class AndroidDialer(private val context: Context) : Dialer {
    override fun dial(number: String) {
        val intent = Intent(Intent.ACTION_DIAL, Uri.parse("tel:" + Uri.encode(number)))
        try {
            context.startActivity(intent)
        } catch (e: ActivityNotFoundException) {
            Log.w(DoorstepApplication.TAG, "no dialer on this device")
        }
    }
}

/**
 * Hands the order's place to AMap or Baidu Maps in their own datum
 * (GCJ-02 / BD-09, converted from the stored WGS-84 by [MapIntents]); when
 * that app is not installed, to whatever handles a `geo:` link.
 */
class AndroidMaps(private val context: Context) : MapsLauncher {
    override fun open(app: MapApp, target: MapTarget) {
        val first = Intent(Intent.ACTION_VIEW, Uri.parse(MapIntents.uri(app, target)))
        try {
            context.startActivity(first)
        } catch (e: ActivityNotFoundException) {
            if (app == MapApp.SYSTEM) {
                Log.w(DoorstepApplication.TAG, "no map app on this device")
                return
            }
            open(MapApp.SYSTEM, target)
        }
    }
}
