//! The core's photo watermark burned in with android.graphics, laid out
//! exactly as the desktop's SkiaWatermarker (technician-ui's
//! DesktopCamera.kt) draws it; keep the two in step.
package app.doorstep.android

import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.graphics.Canvas
import android.graphics.Paint
import android.graphics.Typeface
import androidx.annotation.WorkerThread
import app.doorstep.core.PhotoWatermark
import app.doorstep.ui.CapturedImage
import app.doorstep.ui.Watermarker
import java.io.ByteArrayOutputStream
import java.util.Locale

/**
 * Draws the core's [PhotoWatermark] with `Canvas` and `Paint` and encodes
 * JPEG at [JPEG_QUALITY], as the desktop does: a box of `boxArgb` at the
 * bottom-left corner, `marginPx` from the left and bottom edges, as wide as
 * the widest line plus `paddingPx` on each side and `lineHeightPx` per line
 * plus `paddingPx` above and below; each line in `textArgb` at `fontPx`,
 * its baseline centred in its line height (a font size below the line's
 * top, less 0.12 of it for the descent).
 *
 * The font is the system's sans-serif: Android falls back to its CJK font
 * (Noto Sans CJK / the maker's) for Chinese, and the paint's text locale
 * asks for the Simplified Chinese glyph forms whatever the phone's language,
 * as the desktop asks for "Noto Sans CJK SC".
 */
class BitmapWatermarker(private val typeface: Typeface = Typeface.create(Typeface.SANS_SERIF, Typeface.NORMAL)) : Watermarker {
    @WorkerThread
    override fun burn(image: CapturedImage, mark: PhotoWatermark): CapturedImage {
        val options = BitmapFactory.Options().apply {
            inMutable = true
            inPreferredConfig = Bitmap.Config.ARGB_8888
        }
        val picture = BitmapFactory.decodeByteArray(image.bytes, 0, image.bytes.size, options)
            ?: error("the picture could not be decoded")
        try {
            draw(mark, Canvas(picture), picture.height.toFloat())
            val jpeg = ByteArrayOutputStream().use { out ->
                check(picture.compress(Bitmap.CompressFormat.JPEG, JPEG_QUALITY, out)) { "the picture could not be encoded as JPEG" }
                out.toByteArray()
            }
            return CapturedImage(jpeg, picture.width, picture.height)
        } finally {
            picture.recycle()
        }
    }

    private fun draw(mark: PhotoWatermark, canvas: Canvas, pictureHeight: Float) {
        val fontPx = mark.fontPx.toFloat()
        val pad = mark.paddingPx.toFloat()
        val lineHeight = mark.lineHeightPx.toFloat()
        val ink = Paint(Paint.ANTI_ALIAS_FLAG).apply {
            color = mark.textArgb.toInt()
            textSize = fontPx
            typeface = this@BitmapWatermarker.typeface
            textLocale = Locale.SIMPLIFIED_CHINESE
        }
        val width = (mark.lines.maxOfOrNull { ink.measureText(it) } ?: 0f) + 2 * pad
        val height = lineHeight * mark.lines.size + 2 * pad
        val left = mark.marginPx.toFloat()
        val top = pictureHeight - mark.marginPx.toFloat() - height
        canvas.drawRect(left, top, left + width, top + height, Paint().apply { color = mark.boxArgb.toInt() })
        mark.lines.forEachIndexed { i, line ->
            // The baseline sits a font size below the line's top, centred in its line height.
            val baseline = top + pad + lineHeight * i + (lineHeight + fontPx) / 2 - fontPx * 0.12f
            canvas.drawText(line, left + pad, baseline, ink)
        }
    }

    companion object {
        /** The stored photo's JPEG quality: the desktop's. */
        const val JPEG_QUALITY = 90
    }
}
