//! The CAMERA runtime permission, asked once for both users of the camera:
//! the evidence photos (SystemCameraApp) and the enrolment QR scanner.
package app.doorstep.android

import android.Manifest
import android.content.pm.PackageManager
import android.os.Looper
import android.widget.Toast
import androidx.activity.ComponentActivity
import androidx.activity.result.contract.ActivityResultContracts
import androidx.annotation.MainThread
import androidx.annotation.WorkerThread
import androidx.core.content.ContextCompat
import androidx.lifecycle.DefaultLifecycleObserver
import androidx.lifecycle.LifecycleOwner
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext

/**
 * Asks for the CAMERA permission when a photo or a scan first needs it.
 *
 * The manifest declares CAMERA (the QR scanner needs it), and Android then
 * refuses the camera app's `ACTION_IMAGE_CAPTURE` intent to an app that
 * declares the permission without holding it: so the photos ask for it too.
 * Registered in the activity's `onCreate`, as the result API requires. A
 * refusal is explained in a toast (where to allow it), because a
 * permanently refused permission shows no dialog at all.
 */
class CameraPermission(private val activity: ComponentActivity) {
    // Touched on the main thread only: the callers' answers, given together when the dialog closes.
    private val waiting = mutableListOf<(Boolean) -> Unit>()

    private val launcher = activity.registerForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
        if (!granted) explainRefusal()
        answerAll(granted)
    }

    init {
        // Nobody is left waiting on a dialog whose activity is gone.
        activity.lifecycle.addObserver(object : DefaultLifecycleObserver {
            override fun onDestroy(owner: LifecycleOwner) = answerAll(false)
        })
    }

    fun granted(): Boolean =
        ContextCompat.checkSelfPermission(activity, Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED

    /** Answers [onAnswer] at once when granted, else after the system dialog; one dialog for callers that ask together. */
    @MainThread
    fun request(onAnswer: (Boolean) -> Unit) {
        if (granted()) return onAnswer(true)
        waiting += onAnswer
        if (waiting.size == 1) launcher.launch(Manifest.permission.CAMERA)
    }

    /**
     * [request] for a caller that blocks (the shared `Camera.take` contract):
     * the request is posted to the main thread and this thread waits on a
     * [CompletableDeferred] that the answer completes. Never on the main thread.
     */
    @WorkerThread
    fun awaitGranted(): Boolean {
        check(Looper.myLooper() != Looper.getMainLooper()) { "awaitGranted blocks: call it off the main thread" }
        if (granted()) return true
        val answer = CompletableDeferred<Boolean>()
        return runBlocking {
            withContext(Dispatchers.Main) { request { answer.complete(it) } }
            answer.await()
        }
    }

    /** Where to allow the camera: shown after a refusal (the scanner's own refusal too). */
    @MainThread
    fun explainRefusal() {
        Toast.makeText(activity, R.string.camera_permission_refused, Toast.LENGTH_LONG).show()
    }

    private fun answerAll(granted: Boolean) {
        val answers = waiting.toList()
        waiting.clear()
        answers.forEach { it(granted) }
    }
}
