//! The camera app's picture made into the shared `CapturedImage` the
//! watermark is laid out for: upright, downsized, its size known.
package app.doorstep.android

import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.graphics.Matrix
import android.util.Log
import android.util.Size
import androidx.annotation.WorkerThread
import androidx.exifinterface.media.ExifInterface
import app.doorstep.ui.CapturedImage
import java.io.ByteArrayOutputStream
import java.io.File
import java.io.IOException
import kotlin.math.roundToInt

/**
 * Decodes a camera app's JPEG with `BitmapFactory`: downsampled while
 * decoding (the largest power-of-two `inSampleSize` that stays above the
 * target), scaled to exactly [maxEdgePx] on its longer edge, and turned
 * upright by its EXIF orientation (`androidx.exifinterface`; BitmapFactory
 * ignores it, and many phones store the sensor's rotation there).
 *
 * The result is re-encoded as JPEG at quality 100, so that the shared
 * `CapturedImage` carries bytes of exactly the size it states: the core lays
 * the watermark out for that size (`photo_watermark`), and
 * [BitmapWatermarker] decodes these bytes, burns the watermark in and
 * encodes the stored JPEG at 90, as the desktop's Skia watermarker does.
 */
class CameraPhotoDecoder(private val maxEdgePx: Int = MAX_EDGE_PX) {
    /** The picture in [file], upright and at most [maxEdgePx] on its longer edge; null when it is not an image. */
    @WorkerThread
    fun decode(file: File): CapturedImage? {
        val bounds = BitmapFactory.Options().apply { inJustDecodeBounds = true }
        BitmapFactory.decodeFile(file.path, bounds)
        if (bounds.outWidth <= 0 || bounds.outHeight <= 0) {
            Log.w(DoorstepApplication.TAG, "the camera app's picture is not an image")
            return null
        }
        val target = fitted(bounds.outWidth, bounds.outHeight)
        val options = BitmapFactory.Options().apply { inSampleSize = sampleSize(bounds.outWidth, bounds.outHeight, target) }
        val sampled = BitmapFactory.decodeFile(file.path, options) ?: return null
        val upright = sampled
            .replacedBy { Bitmap.createScaledBitmap(it, target.width, target.height, true) }
            .replacedBy { bitmap ->
                uprightMatrix(orientationOf(file))
                    ?.let { Bitmap.createBitmap(bitmap, 0, 0, bitmap.width, bitmap.height, it, true) }
                    ?: bitmap
            }
        return try {
            val jpeg = ByteArrayOutputStream().use { out ->
                check(upright.compress(Bitmap.CompressFormat.JPEG, LOSSLESS_ENOUGH_QUALITY, out)) { "the picture could not be encoded as JPEG" }
                out.toByteArray()
            }
            CapturedImage(jpeg, upright.width, upright.height)
        } finally {
            upright.recycle()
        }
    }

    /** The size a [width] × [height] picture is stored at: its longer edge at most [maxEdgePx], its aspect kept. */
    fun fitted(width: Int, height: Int): Size {
        val longer = maxOf(width, height)
        if (longer <= maxEdgePx) return Size(width, height)
        val scale = maxEdgePx.toDouble() / longer
        return Size((width * scale).roundToInt().coerceAtLeast(1), (height * scale).roundToInt().coerceAtLeast(1))
    }

    /** The largest power of two that divides [width] × [height] without going below [target]. */
    fun sampleSize(width: Int, height: Int, target: Size): Int {
        var sample = 1
        while (width / (sample * 2) >= target.width && height / (sample * 2) >= target.height) sample *= 2
        return sample
    }

    private fun orientationOf(file: File): Int = try {
        ExifInterface(file.path).getAttributeInt(ExifInterface.TAG_ORIENTATION, ExifInterface.ORIENTATION_NORMAL)
    } catch (e: IOException) {
        ExifInterface.ORIENTATION_NORMAL
    }

    /** The matrix that turns a picture stored with EXIF [orientation] upright; null when it already is. */
    private fun uprightMatrix(orientation: Int): Matrix? = when (orientation) {
        ExifInterface.ORIENTATION_FLIP_HORIZONTAL -> Matrix().apply { setScale(-1f, 1f) }
        ExifInterface.ORIENTATION_ROTATE_180 -> Matrix().apply { setRotate(180f) }
        ExifInterface.ORIENTATION_FLIP_VERTICAL -> Matrix().apply { setRotate(180f); postScale(-1f, 1f) }
        ExifInterface.ORIENTATION_TRANSPOSE -> Matrix().apply { setRotate(90f); postScale(-1f, 1f) }
        ExifInterface.ORIENTATION_ROTATE_90 -> Matrix().apply { setRotate(90f) }
        ExifInterface.ORIENTATION_TRANSVERSE -> Matrix().apply { setRotate(-90f); postScale(-1f, 1f) }
        ExifInterface.ORIENTATION_ROTATE_270 -> Matrix().apply { setRotate(-90f) }
        else -> null
    }

    /** [transform]'s result, this bitmap's memory freed when it is a new one (the framework may return the same). */
    private inline fun Bitmap.replacedBy(transform: (Bitmap) -> Bitmap): Bitmap {
        val next = transform(this)
        if (next !== this) recycle()
        return next
    }

    companion object {
        /**
         * The longer edge of a stored photo: about 5 MP at 4:3, enough to read
         * a nameplate or a meter, about 1 MB at JPEG quality 90. The iOS app's
         * `CapturedPhoto.maxEdgePx` (PhotoCapture.swift) is the same.
         */
        const val MAX_EDGE_PX = 2560

        /** The hand-over to the watermarker: visually lossless; the stored photo's one real encoding is at 90. */
        private const val LOSSLESS_ENOUGH_QUALITY = 100
    }
}
