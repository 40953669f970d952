//! The phone's camera behind the shared `Camera` interface (technician-ui's
//! Platform.kt): the system camera app writes the picture into a file of
//! ours shared through the FileProvider, and it comes back upright and
//! downsized (CameraPhotoDecoder) for the watermark to be burned in.
package app.doorstep.android

import android.content.ActivityNotFoundException
import android.net.Uri
import android.os.Looper
import android.util.Log
import android.widget.Toast
import androidx.activity.ComponentActivity
import androidx.activity.result.contract.ActivityResultContracts
import androidx.annotation.WorkerThread
import androidx.core.content.FileProvider
import androidx.lifecycle.DefaultLifecycleObserver
import androidx.lifecycle.LifecycleOwner
import app.doorstep.ui.Camera
import app.doorstep.ui.CapturedImage
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import java.io.File
import java.util.UUID
import java.util.concurrent.atomic.AtomicBoolean

/**
 * Takes a photo with the system camera app (`ActivityResultContracts.TakePicture`,
 * i.e. `ACTION_IMAGE_CAPTURE` with `EXTRA_OUTPUT`): no camera code of our
 * own, and the phone maker's camera app (focus, flash, HDR) at its best.
 *
 * **How the blocking contract is bridged.** `Camera.take` is blocking and
 * called off the UI thread (technician-ui runs it on `Dispatchers.IO`),
 * while the activity-result API launches and answers on the main thread.
 * [take] first waits for the CAMERA permission ([CameraPermission.awaitGranted]),
 * then switches to the main thread to launch the camera app with a fresh
 * [CompletableDeferred] kept in [pendingPicture], and waits on it; the
 * result callback (main thread) completes it with "saved or not". One
 * picture at a time: a second tap while the camera app is open returns
 * null at once.
 *
 * The launcher is registered in the activity's `onCreate`, as the result API
 * requires. If the activity is destroyed while the camera app is open (the
 * phone rotated, or memory was short), the waiting caller gets null rather
 * than waiting forever: the recreated activity's screens start anew
 * (MainActivity keeps no screen state across recreation), so the
 * technician takes that photo again.
 *
 * `take`'s `moment` titles the desktop's file dialog; the camera app takes
 * no title, so it is not shown here.
 */
class SystemCameraApp(
    private val activity: ComponentActivity,
    private val permission: CameraPermission,
    private val decoder: CameraPhotoDecoder = CameraPhotoDecoder(),
) : Camera {
    private val captures = File(activity.cacheDir, CAPTURE_DIR)
    private val authority = "${activity.packageName}$AUTHORITY_SUFFIX"

    /** Held from the tap to the decoded picture: one capture at a time. */
    private val capturing = AtomicBoolean(false)

    // Set and read on the main thread only.
    private var pendingPicture: CompletableDeferred<Boolean>? = null

    private val takePicture = activity.registerForActivityResult(ActivityResultContracts.TakePicture()) { saved ->
        pendingPicture?.complete(saved)
        pendingPicture = null
    }

    init {
        activity.lifecycle.addObserver(object : DefaultLifecycleObserver {
            override fun onDestroy(owner: LifecycleOwner) {
                pendingPicture?.complete(false)
                pendingPicture = null
            }
        })
    }

    @WorkerThread
    override fun take(moment: String): CapturedImage? {
        check(Looper.myLooper() != Looper.getMainLooper()) { "Camera.take blocks: call it off the main thread" }
        if (!capturing.compareAndSet(false, true)) return null
        return try {
            if (permission.awaitGranted()) capture() else null
        } finally {
            capturing.set(false)
        }
    }

    /** One picture through the camera app, decoded; null when cancelled. */
    private fun capture(): CapturedImage? {
        val file = newCaptureFile()
        return try {
            val saved = runBlocking { pictureSavedTo(FileProvider.getUriForFile(activity, authority, file)) }
            // Some camera apps answer OK without writing (storage full, a crash on the way out).
            if (saved && file.length() > 0) decoder.decode(file) else null
        } finally {
            file.delete()
        }
    }

    /** Launches the camera app into [target] and waits for its answer; false when cancelled or impossible. */
    private suspend fun pictureSavedTo(target: Uri): Boolean {
        val answer = CompletableDeferred<Boolean>()
        val launched = withContext(Dispatchers.Main) {
            try {
                takePicture.launch(target)
                pendingPicture = answer
                true
            } catch (e: ActivityNotFoundException) {
                Log.w(DoorstepApplication.TAG, "no camera app on this device", e)
                Toast.makeText(activity, R.string.no_camera_app, Toast.LENGTH_LONG).show()
                false
            } catch (e: IllegalStateException) {
                // Destroyed between the tap and the launch: its launcher is unregistered.
                false
            }
        }
        return launched && answer.await()
    }

    /** A new, empty file in the cache folder that `res/xml/file_paths.xml` shares with the camera app. */
    private fun newCaptureFile(): File {
        captures.mkdirs()
        // A picture left by a crash between capture and decoding goes now (under [capturing]: nothing else is in flight).
        captures.listFiles()?.forEach { it.delete() }
        return File(captures, "capture-${UUID.randomUUID()}.jpg")
    }

    private companion object {
        /** Must match `res/xml/file_paths.xml`'s `cache-path`. */
        const val CAPTURE_DIR = "captures"

        /** Must match the `<provider>`'s authorities in AndroidManifest.xml (`${applicationId}.photos`). */
        const val AUTHORITY_SUFFIX = ".photos"
    }
}
