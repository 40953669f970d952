import DoorstepCore
import SwiftUI

/// Ratings and the signature pad; the digest shown is what these ratings sign.
struct SignaturePadView: View {
    @EnvironmentObject var model: AppModel
    let assignmentId: String
    @State private var quality = 5
    @State private var attitude = 5
    @State private var lines: [[CGPoint]] = []
    @State private var capture = SignatureCapture(width: 1000, height: 400)

    private var signOff: CustomerSignOff {
        CustomerSignOff(quality: UInt8(quality), attitude: UInt8(attitude), comment: nil,
                        strokes: capture.signatureStrokes,
                        consentText: NSLocalizedString("consent", comment: ""), shownDigest: nil)
    }

    var body: some View {
        VStack(alignment: .leading) {
            if let d = model.preview(assignmentId, signOff) {
                // The customer sees these 8 characters; signing passes the full digest back.
                Text(String(format: NSLocalizedString("digest", comment: ""), d.short)).monospaced()
            }
            Stepper("quality \(quality)", value: $quality, in: 1...5)
            Stepper("attitude \(attitude)", value: $attitude, in: 1...5)
            GeometryReader { geo in
                Path { p in
                    for line in lines where !line.isEmpty {
                        p.move(to: line[0])
                        line.dropFirst().forEach { p.addLine(to: $0) }
                    }
                }
                .stroke(lineWidth: 2)
                .contentShape(Rectangle())
                .gesture(DragGesture(minimumDistance: 0)
                    .onChanged { v in
                        let x = v.location.x / geo.size.width * 1000, y = v.location.y / geo.size.height * 400
                        if v.translation == .zero { capture.down(x: x, y: y); lines.append([]) } else { capture.move(x: x, y: y) }
                        lines[lines.count - 1].append(v.location)
                    }
                    .onEnded { _ in capture.up() })
            }.frame(height: 160).border(.gray)
            HStack {
                Button("clear") { capture.clear(); lines = [] }
                Button("sign") {
                    var s = signOff
                    s.shownDigest = model.preview(assignmentId, s)?.full
                    model.signOff(assignmentId, s)
                }.disabled(!capture.isPlausible)
                Button("decline") { model.decline(assignmentId, reason: "customer declined") }
            }
        }
    }
}
