// The camera permission, asked once for both users of the camera: the
// evidence photos (PhotoCapture.swift) and the enrolment QR scanner
// (QrScannerView.swift). Its question is Info.plist's NSCameraUsageDescription.
// Not compiled on this project's machines (no Swift toolchain): see ios/README.md.
import AVFoundation
import SwiftUI
import UIKit

/// Whether the app may use the camera, asking the first time.
enum CameraAccess {
    /// True when allowed; shows the system question on first use. A refusal
    /// (or a device-management restriction) stands until changed in Settings.
    static func request() async -> Bool {
        switch AVCaptureDevice.authorizationStatus(for: .video) {
        case .authorized:
            return true
        case .notDetermined:
            return await AVCaptureDevice.requestAccess(for: .video)
        default:
            return false
        }
    }
}

/// Shown after a refusal: why nothing opened, and the way to the app's Settings.
struct CameraRefusedNote: View {
    var body: some View {
        VStack(alignment: .leading, spacing: 4) {
            Text("camera_refused")
                .font(.footnote)
                .foregroundStyle(.red)
            if let settings = URL(string: UIApplication.openSettingsURLString) {
                Link("open_settings", destination: settings)
                    .font(.footnote)
            }
        }
    }
}
