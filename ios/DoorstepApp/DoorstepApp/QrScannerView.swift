// The enrolment QR scanner: the back camera's preview, and the first QR
// code AVCaptureMetadataOutput reads (the console's doorstep://enrol link)
// handed to EnrolmentView. AVFoundation rather than VisionKit's
// DataScannerViewController, which needs an A12 chip or later.
// Not compiled on this project's machines (no Swift toolchain): see ios/README.md.
import AVFoundation
import SwiftUI
import UIKit

/// Scans one QR code and reports its text (trimmed) once.
struct QrScannerView: UIViewControllerRepresentable {
    /// Whether this device has a camera to scan with (the simulator has none).
    static var isAvailable: Bool { AVCaptureDevice.default(for: .video) != nil }

    let onScanned: (String) -> Void

    func makeUIViewController(context: Context) -> QrScannerController {
        QrScannerController(onScanned: onScanned)
    }

    func updateUIViewController(_ controller: QrScannerController, context: Context) {}
}

/// An `AVCaptureSession` from the default video camera into an
/// `AVCaptureMetadataOutput` that looks for QR codes only, with its preview
/// filling the view. The session starts and stops on a queue of its own
/// (`startRunning` blocks); codes arrive on the main queue.
final class QrScannerController: UIViewController, AVCaptureMetadataOutputObjectsDelegate {
    private let session = AVCaptureSession()
    private let sessionQueue = DispatchQueue(label: "app.doorstep.qr-scanner")
    private let onScanned: (String) -> Void
    private var preview: AVCaptureVideoPreviewLayer?
    private var reported = false

    init(onScanned: @escaping (String) -> Void) {
        self.onScanned = onScanned
        super.init(nibName: nil, bundle: nil)
    }

    @available(*, unavailable)
    required init?(coder: NSCoder) { fatalError("not from a storyboard") }

    override func viewDidLoad() {
        super.viewDidLoad()
        view.backgroundColor = .black
        guard let camera = AVCaptureDevice.default(for: .video),
              let input = try? AVCaptureDeviceInput(device: camera),
              session.canAddInput(input) else { return }
        let output = AVCaptureMetadataOutput()
        guard session.canAddOutput(output) else { return }
        session.addInput(input)
        session.addOutput(output)
        output.setMetadataObjectsDelegate(self, queue: .main)
        // Only after addOutput: the output knows the types it can read once it has an input.
        output.metadataObjectTypes = [.qr]
        let layer = AVCaptureVideoPreviewLayer(session: session)
        layer.videoGravity = .resizeAspectFill
        view.layer.addSublayer(layer)
        preview = layer
    }

    override func viewDidLayoutSubviews() {
        super.viewDidLayoutSubviews()
        preview?.frame = view.bounds
    }

    override func viewWillAppear(_ animated: Bool) {
        super.viewWillAppear(animated)
        let session = self.session
        sessionQueue.async { session.startRunning() }
    }

    override func viewWillDisappear(_ animated: Bool) {
        super.viewWillDisappear(animated)
        let session = self.session
        sessionQueue.async { session.stopRunning() }
    }

    nonisolated func metadataOutput(_ output: AVCaptureMetadataOutput, didOutput metadataObjects: [AVMetadataObject],
                                    from connection: AVCaptureConnection) {
        let text = metadataObjects.lazy
            .compactMap { ($0 as? AVMetadataMachineReadableCodeObject)?.stringValue }
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .first { !$0.isEmpty }
        guard let text else { return }
        // The delegate's queue is the main queue (setMetadataObjectsDelegate above).
        MainActor.assumeIsolated { report(text) }
    }

    private func report(_ text: String) {
        // The camera keeps reading the code until the sheet closes: one answer is enough.
        guard !reported else { return }
        reported = true
        let session = self.session
        sessionQueue.async { session.stopRunning() }
        UINotificationFeedbackGenerator().notificationOccurred(.success)
        onScanned(text)
    }
}
