// Evidence photos on the visit: a button per photo moment the visit asks
// for, the system camera, and the picture brought to the size it is stored
// at. AppModel.takePhoto has the core lay out the watermark, burns it in
// (PhotoWatermarkRenderer.swift) and stores the JPEG. In step with the
// Compose `PhotoCapture` (technician-ui's FormRenderer.kt) and the Android
// app's SystemCameraApp / CameraPhotoDecoder.
// Not compiled on this project's machines (no Swift toolchain): see ios/README.md.
import DoorstepCore
import SwiftUI
import UIKit

/// The photo moments the visit asks for now (the `take_photo` form's
/// `moment` choices), each a "拍照：…" button that opens the camera; shown
/// instead of that form when the phone has a camera. A refusal from the
/// core shows at the top of the visit, as every refusal does.
struct PhotoMomentsView: View {
    @EnvironmentObject var model: AppModel
    let form: ActionForm
    let assignmentId: String
    /// The moment being photographed, while the camera is up.
    @State private var shooting: PhotoMoment?
    @State private var cameraRefused = false

    private var moments: [ChoiceOption] {
        form.fields.first { $0.name == "moment" }?.options ?? []
    }

    var body: some View {
        GroupBox {
            VStack(alignment: .leading, spacing: 8) {
                if let help = form.help { Text(help.pick(model.lang)).font(.footnote) }
                ForEach(moments, id: \.id) { moment in
                    Button {
                        Task { await openCamera(for: moment) }
                    } label: {
                        Text(String(format: NSLocalizedString("photo_take", comment: ""), moment.label.pick(model.lang)))
                            .frame(maxWidth: .infinity)
                    }
                    .buttonStyle(.borderedProminent)
                    .disabled(model.savingPhoto)
                }
                if model.savingPhoto { ProgressView("photo_saving") }
                if cameraRefused { CameraRefusedNote() }
            }
        } label: {
            Text(form.label.pick(model.lang))
        }
        .fullScreenCover(item: $shooting) { moment in
            CameraPicker { image in
                shooting = nil
                if let image { model.takePhoto(assignmentId, moment: moment.id, image: image) }
            }
            .ignoresSafeArea()
        }
    }

    private func openCamera(for moment: ChoiceOption) async {
        let allowed = await CameraAccess.request()
        cameraRefused = !allowed
        if allowed { shooting = PhotoMoment(id: moment.id) }
    }
}

/// A photo moment's id, as the camera cover's item.
private struct PhotoMoment: Identifiable {
    let id: String
}

/// The system camera (`UIImagePickerController` with `.camera`) for one
/// photo: reports the picture, or nil when the technician cancels.
struct CameraPicker: UIViewControllerRepresentable {
    /// Whether this device has a camera (the simulator has none: the visit then shows the photo form).
    static var isAvailable: Bool { UIImagePickerController.isSourceTypeAvailable(.camera) }

    let onFinish: (UIImage?) -> Void

    func makeCoordinator() -> Coordinator { Coordinator(onFinish: onFinish) }

    func makeUIViewController(context: Context) -> UIImagePickerController {
        let picker = UIImagePickerController()
        // The source first: the capture mode is the camera's.
        picker.sourceType = .camera
        picker.cameraCaptureMode = .photo
        picker.allowsEditing = false
        picker.delegate = context.coordinator
        return picker
    }

    func updateUIViewController(_ picker: UIImagePickerController, context: Context) {}

    final class Coordinator: NSObject, UIImagePickerControllerDelegate, UINavigationControllerDelegate {
        private let onFinish: (UIImage?) -> Void

        init(onFinish: @escaping (UIImage?) -> Void) {
            self.onFinish = onFinish
        }

        func imagePickerController(_ picker: UIImagePickerController,
                                   didFinishPickingMediaWithInfo info: [UIImagePickerController.InfoKey: Any]) {
            onFinish(info[.originalImage] as? UIImage)
        }

        func imagePickerControllerDidCancel(_ picker: UIImagePickerController) {
            onFinish(nil)
        }
    }
}

/// A camera picture at the size it is stored: upright (a `UIImage` draws
/// with its orientation applied) and at most `maxEdgePx` on its longer edge,
/// its aspect kept, as the Android app stores it
/// (`CameraPhotoDecoder.MAX_EDGE_PX`). The core lays the watermark out for
/// `width` × `height`, and PhotoWatermarkRenderer draws the picture at that size.
struct CapturedPhoto: @unchecked Sendable {
    /// About 5 MP at 4:3: enough to read a nameplate or a meter, about 1 MB as stored.
    static let maxEdgePx: CGFloat = 2560

    let image: UIImage
    let width: UInt32
    let height: UInt32

    init(_ image: UIImage, maxEdgePx: CGFloat = CapturedPhoto.maxEdgePx) {
        // `size` is upright and in points; `scale` turns it into pixels (1 for the camera's pictures).
        let pixelWidth = image.size.width * image.scale
        let pixelHeight = image.size.height * image.scale
        let factor = min(1, maxEdgePx / max(pixelWidth, pixelHeight, 1))
        self.image = image
        width = UInt32(max(1, (pixelWidth * factor).rounded()))
        height = UInt32(max(1, (pixelHeight * factor).rounded()))
    }
}
