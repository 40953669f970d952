//! The platform services the screens use, injected as interfaces so the
//! same composables run on Android (GPS, dialer, map apps) and on the
//! desktop (which logs the hand-off), and so tests can script them.
package app.doorstep.ui

/** What the phone says about where it is. */
sealed interface LocationReading {
    /** A WGS-84 fix with the OS's horizontal accuracy radius. */
    data class Fix(val lat: Double, val lon: Double, val accuracyM: Double) : LocationReading

    /** The technician refused the location permission. */
    data object PermissionDenied : LocationReading

    /** Permission granted but no fix in time (indoors, no signal). */
    data object NoFix : LocationReading
}

/** The phone's location; Android asks for the permission on first use. Blocking: call it off the UI thread. */
fun interface LocationProvider {
    fun current(): LocationReading
}

/** Starts a phone call to [number] (Android: ACTION_DIAL; desktop: logs). */
fun interface Dialer {
    fun dial(number: String)
}

/** The map apps the hand-off knows, with the datum each expects. */
enum class MapApp { AMAP, BAIDU, SYSTEM }

/** Where to navigate: the order's address, and its WGS-84 site when known. */
data class MapTarget(val address: String?, val site: Pair<Double, Double>?)

/** Hands a place to a map app (Android: the app's intent, [MapIntents]; desktop: logs it). */
fun interface MapsLauncher {
    fun open(app: MapApp, target: MapTarget)
}

/** The hand-off intent each map app takes, coordinates in that app's datum. */
object MapIntents {
    private fun fmt(v: Double) = "%.6f".format(java.util.Locale.ROOT, v)

    fun uri(app: MapApp, target: MapTarget): String {
        val name = java.net.URLEncoder.encode(target.address ?: "", Charsets.UTF_8)
        val site = target.site ?: return when (app) {
            MapApp.AMAP -> "androidamap://poi?sourceApplication=doorstep&keywords=$name&dev=0"
            MapApp.BAIDU -> "baidumap://map/geocoder?address=$name&src=doorstep"
            MapApp.SYSTEM -> "geo:0,0?q=$name"
        }
        val (wgsLat, wgsLon) = site
        return when (app) {
            MapApp.AMAP -> {
                val (lat, lon) = ChinaCoordinates.wgs84ToGcj02(wgsLat, wgsLon)
                "androidamap://viewMap?sourceApplication=doorstep&poiname=$name&lat=${fmt(lat)}&lon=${fmt(lon)}&dev=0"
            }
            MapApp.BAIDU -> {
                val (lat, lon) = ChinaCoordinates.wgs84ToBd09(wgsLat, wgsLon)
                "baidumap://map/marker?location=${fmt(lat)},${fmt(lon)}&title=$name&coord_type=bd09ll&src=doorstep"
            }
            MapApp.SYSTEM -> "geo:${fmt(wgsLat)},${fmt(wgsLon)}?q=${fmt(wgsLat)},${fmt(wgsLon)}($name)"
        }
    }
}

/** A picture as the camera gives it: its encoded bytes (JPEG or PNG) and its size in pixels. */
class CapturedImage(val bytes: ByteArray, val width: Int, val height: Int)

/**
 * Takes a picture for the photo moment [moment] (Android: the camera app;
 * desktop: a file chooser); null when the technician cancels. Blocking.
 */
fun interface Camera {
    fun take(moment: String): CapturedImage?
}

/**
 * Burns the core's watermark (time, place, technician, work order) into a
 * picture and encodes it as JPEG (Android: Bitmap and Canvas; desktop: Skia).
 */
fun interface Watermarker {
    fun burn(image: CapturedImage, mark: app.doorstep.core.PhotoWatermark): CapturedImage
}

/** The platform services one screen tree uses; without a camera, photos are recorded through their form. */
data class PlatformServices(
    val location: LocationProvider,
    val dialer: Dialer,
    val maps: MapsLauncher,
    val camera: Camera? = null,
    val watermarker: Watermarker? = null,
)
