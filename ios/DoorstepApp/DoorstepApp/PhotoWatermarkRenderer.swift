// The core's photo watermark burned in with UIGraphicsImageRenderer and
// Core Text, laid out exactly as the desktop's SkiaWatermarker
// (technician-ui's DesktopCamera.kt) and Android's BitmapWatermarker draw
// it; keep the three in step.
// Not compiled on this project's machines (no Swift toolchain): see ios/README.md.
import CoreText
import DoorstepCore
import UIKit

/// Draws a `CapturedPhoto` at its stored size with the core's
/// `PhotoWatermark` burned in, and encodes it as JPEG at `jpegQuality`:
/// a box of `boxArgb` at the bottom-left corner, `marginPx` from the left
/// and bottom edges, as wide as the widest line plus `paddingPx` on each
/// side and `lineHeightPx` per line plus `paddingPx` above and below; each
/// line in `textArgb` at `fontPx`, its baseline centred in its line height
/// (a font size below the line's top, less 0.12 of it for the descent).
/// PingFang SC is the CJK font, as the desktop asks for Noto Sans CJK SC.
/// Safe off the main thread (UIGraphicsImageRenderer and Core Text are).
enum PhotoWatermarkRenderer {
    /// The desktop's and Android's quality 90, on ImageIO's 0...1 scale.
    static let jpegQuality: CGFloat = 0.9

    static func jpeg(_ photo: CapturedPhoto, mark: PhotoWatermark) -> Data {
        let size = CGSize(width: CGFloat(photo.width), height: CGFloat(photo.height))
        let format = UIGraphicsImageRendererFormat()
        // One point is one pixel: the core's layout is in pixels of the stored picture.
        format.scale = 1
        format.opaque = true
        // 8-bit sRGB, as the desktop and Android encode (no extended-range buffer for a P3 picture).
        format.preferredRange = .standard
        return UIGraphicsImageRenderer(size: size, format: format).jpegData(withCompressionQuality: jpegQuality) { context in
            context.cgContext.interpolationQuality = .high
            // Applies the picture's orientation and scales it to the stored size.
            photo.image.draw(in: CGRect(origin: .zero, size: size))
            draw(mark, in: context.cgContext, pictureHeight: size.height)
        }
    }

    private static func draw(_ mark: PhotoWatermark, in cg: CGContext, pictureHeight: CGFloat) {
        let fontPx = CGFloat(mark.fontPx)
        let pad = CGFloat(mark.paddingPx)
        let lineHeight = CGFloat(mark.lineHeightPx)
        let margin = CGFloat(mark.marginPx)
        let font = CTFontCreateWithName("PingFangSC-Regular" as CFString, fontPx, nil)
        let attributes: [NSAttributedString.Key: Any] = [
            .font: font,
            NSAttributedString.Key(kCTForegroundColorAttributeName as String): color(argb: mark.textArgb),
        ]
        let lines = mark.lines.map {
            CTLineCreateWithAttributedString(NSAttributedString(string: $0, attributes: attributes) as CFAttributedString)
        }
        let widest = lines.map { CGFloat(CTLineGetTypographicBounds($0, nil, nil, nil)) }.max() ?? 0
        let height = lineHeight * CGFloat(lines.count) + 2 * pad
        let box = CGRect(x: margin, y: pictureHeight - margin - height, width: widest + 2 * pad, height: height)
        cg.setFillColor(color(argb: mark.boxArgb))
        cg.fill(box)
        // Core Text draws at a baseline; in UIKit's y-down context the text matrix flips the glyphs upright.
        cg.textMatrix = CGAffineTransform(scaleX: 1, y: -1)
        for (i, line) in lines.enumerated() {
            // The baseline sits a font size below the line's top, centred in its line height.
            let baseline = box.minY + pad + lineHeight * CGFloat(i) + (lineHeight + fontPx) / 2 - fontPx * 0.12
            cg.textPosition = CGPoint(x: box.minX + pad, y: baseline)
            CTLineDraw(line, cg)
        }
    }

    /// The core's 0xAARRGGBB (not premultiplied, sRGB, as Android and Skia read it).
    private static func color(argb: UInt32) -> CGColor {
        func channel(_ shift: UInt32) -> CGFloat { CGFloat((argb >> shift) & 0xFF) / 255 }
        return CGColor(srgbRed: channel(16), green: channel(8), blue: channel(0), alpha: channel(24))
    }
}
