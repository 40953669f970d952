import CoreImage.CIFilterBuiltins
import DoorstepCore
import SwiftUI

/// Pay by QR at the door (STANDARDS §2.15): while the visit offers to collect
/// the payment, the technician picks WeChat Pay or Alipay; the center makes
/// the provider's order of exactly the amount due (`Syncer.createQrPayment`),
/// the screen draws its code with Core Image, asks after the order every two
/// seconds and, once paid, records the payment with the order named
/// (`DeviceStore.collectQrPayment`). Amounts, states and names come worded
/// by the core. Kept in step with the Compose panel (QrPaymentPanel.kt).
@MainActor
final class QrPaymentModel: ObservableObject {
    @Published private(set) var payment: QrPayment?
    @Published private(set) var error: String?
    @Published private(set) var busy = false
    private let syncer: Syncer
    private let store: DeviceStore
    private let onRecorded: (VisitScreen) -> Void
    private var polling: Task<Void, Never>?

    init(syncer: Syncer, store: DeviceStore, onRecorded: @escaping (VisitScreen) -> Void) {
        self.syncer = syncer
        self.store = store
        self.onRecorded = onRecorded
    }

    var providers: [QrProviderItem] { qrProviders() }

    /// Asks the center for `provider`'s order (off the main thread), then asks after it until it closes.
    func start(_ assignmentId: String, provider: String, lang: Language) {
        guard !busy else { return }
        busy = true
        error = nil
        let syncer = self.syncer
        Task {
            let result = await Task.detached(priority: .userInitiated) { () -> Result<QrPayment, DoorstepError> in
                do { return .success(try syncer.createQrPayment(assignmentId: assignmentId, provider: provider)) }
                catch let e as DoorstepError { return .failure(e) }
                catch { return .failure(.Internal(code: "internal", en: "\(error)", zh: "\(error)")) }
            }.value
            busy = false
            switch result {
            case .success(let p):
                payment = p
                poll(lang: lang)
            case .failure(let e):
                error = e.text(lang) + "\n" + NSLocalizedString("qr_offline", comment: "")
            }
        }
    }

    private func poll(lang: Language) {
        polling?.cancel()
        let syncer = self.syncer
        polling = Task {
            while let current = payment, current.status == .creating || current.status == .awaitingPayment {
                try? await Task.sleep(nanoseconds: 2_000_000_000)
                if Task.isCancelled { return }
                let id = current.paymentId
                let next = await Task.detached { try? syncer.qrPayment(paymentId: id) }.value
                guard let next else { continue } // no network for a moment: keep the code and ask again
                payment = next
                if next.status == .paid { record(next, lang: lang) }
            }
        }
    }

    private func record(_ paid: QrPayment, lang: Language) {
        do {
            let result = try store.collectQrPayment(payment: paid, now: Date())
            payment = nil
            onRecorded(result.screen)
        } catch let e as DoorstepError {
            error = e.text(lang)
        } catch {
            self.error = "\(error)"
        }
    }

    /// Takes the code off the screen (the center closes the order when it expires or a new one is made).
    func cancel() {
        polling?.cancel()
        payment = nil
        error = nil
    }
}

struct QrPaymentView: View {
    @EnvironmentObject var model: AppModel
    @ObservedObject var qr: QrPaymentModel
    let assignmentId: String

    var body: some View {
        VStack(alignment: .leading, spacing: 8) {
            Text(NSLocalizedString("qr_title", comment: "")).font(.headline)
            Text(NSLocalizedString("qr_help", comment: "")).font(.callout)
            if let p = qr.payment {
                Text("\(p.providerName.pick(model.lang)) · " + String(format: NSLocalizedString("qr_amount", comment: ""), p.amountShown)).bold()
                Text(p.statusText.pick(model.lang)).foregroundStyle(.green)
                if p.status == .awaitingPayment, let url = p.codeUrl, let image = Self.code(url) {
                    Image(uiImage: image).interpolation(.none).resizable().scaledToFit()
                        .frame(width: 240, height: 240).background(Color.white)
                        .accessibilityLabel(NSLocalizedString("qr_code", comment: ""))
                }
                Text(String(format: NSLocalizedString("qr_order", comment: ""), p.outTradeNo)).font(.footnote)
                if let f = p.failure { Text(f.pick(model.lang)).foregroundStyle(.red) }
                Button(NSLocalizedString("qr_cancel", comment: "")) { qr.cancel() }
            } else {
                HStack {
                    ForEach(qr.providers, id: \.code) { p in
                        Button(String(format: NSLocalizedString("qr_with", comment: ""), p.name.pick(model.lang))) {
                            qr.start(assignmentId, provider: p.code, lang: model.lang)
                        }.buttonStyle(.borderedProminent).disabled(qr.busy)
                    }
                }
            }
            if let e = qr.error { Text(e).foregroundStyle(.red) }
        }
    }

    /// The provider's link as a QR image (error correction M), scaled without smoothing.
    static func code(_ text: String) -> UIImage? {
        let filter = CIFilter.qrCodeGenerator()
        filter.message = Data(text.utf8)
        filter.correctionLevel = "M"
        guard let output = filter.outputImage?.transformed(by: CGAffineTransform(scaleX: 8, y: 8)),
              let cg = CIContext().createCGImage(output, from: output.extent) else { return nil }
        return UIImage(cgImage: cg)
    }
}
