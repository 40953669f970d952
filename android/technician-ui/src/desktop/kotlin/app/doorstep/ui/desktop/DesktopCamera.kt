//! The desktop's camera and watermark: a picture is chosen from a file (a
//! laptop has no camera worth using at a door), and the core's watermark is
//! burned into it with Skia (the drawing library Compose for desktop runs
//! on), then encoded as JPEG. The phone builds do the same with the camera
//! app and Android's Bitmap.
package app.doorstep.ui.desktop

import app.doorstep.core.PhotoWatermark
import app.doorstep.ui.Camera
import app.doorstep.ui.CapturedImage
import app.doorstep.ui.Watermarker
import org.jetbrains.skia.EncodedImageFormat
import org.jetbrains.skia.Font
import org.jetbrains.skia.FontMgr
import org.jetbrains.skia.FontStyle
import org.jetbrains.skia.Image
import org.jetbrains.skia.Paint
import org.jetbrains.skia.Rect
import org.jetbrains.skia.Surface
import java.io.File

/** A picture chosen from a file (JPEG or PNG); null when the dialog is cancelled. */
class FileChooserCamera : Camera {
    override fun take(moment: String): CapturedImage? {
        val dialog = java.awt.FileDialog(null as java.awt.Frame?, moment, java.awt.FileDialog.LOAD)
        dialog.isVisible = true
        val name = dialog.file ?: return null
        return decoded(File(dialog.directory, name).readBytes())
    }
}

/** [bytes] with the size Skia reads from them. */
fun decoded(bytes: ByteArray): CapturedImage {
    val image = Image.makeFromEncoded(bytes)
    return CapturedImage(bytes, image.width, image.height)
}

/**
 * Draws the core's watermark as it lays it out (a box at the bottom-left
 * corner, its lines top to bottom, in a CJK font) and encodes JPEG at 90.
 */
class SkiaWatermarker : Watermarker {
    private val typeface by lazy {
        listOf("Noto Sans CJK SC", "Noto Sans CJK", "WenQuanYi Zen Hei")
            .firstNotNullOfOrNull { FontMgr.default.matchFamilyStyle(it, FontStyle.NORMAL) }
            ?: FontMgr.default.legacyMakeTypeface("", FontStyle.NORMAL)
    }

    override fun burn(image: CapturedImage, mark: PhotoWatermark): CapturedImage {
        val source = Image.makeFromEncoded(image.bytes)
        val surface = Surface.makeRasterN32Premul(source.width, source.height)
        val canvas = surface.canvas
        canvas.drawImage(source, 0f, 0f)
        val font = Font(typeface, mark.fontPx.toFloat())
        val pad = mark.paddingPx.toFloat()
        val lineHeight = mark.lineHeightPx.toFloat()
        val width = (mark.lines.maxOfOrNull { font.measureTextWidth(it) } ?: 0f) + 2 * pad
        val height = lineHeight * mark.lines.size + 2 * pad
        val left = mark.marginPx.toFloat()
        val top = source.height - mark.marginPx.toFloat() - height
        canvas.drawRect(Rect.makeXYWH(left, top, width, height), Paint().apply { color = mark.boxArgb.toInt() })
        val ink = Paint().apply { color = mark.textArgb.toInt() }
        mark.lines.forEachIndexed { i, line ->
            // The baseline sits a font size below the line's top, centred in its line height.
            val baseline = top + pad + lineHeight * i + (lineHeight + mark.fontPx.toFloat()) / 2 - mark.fontPx.toFloat() * 0.12f
            canvas.drawString(line, left + pad, baseline, font, ink)
        }
        val jpeg = surface.makeImageSnapshot().encodeToData(EncodedImageFormat.JPEG, 90)
            ?: error("the picture could not be encoded as JPEG")
        return CapturedImage(jpeg.bytes, source.width, source.height)
    }
}
