// The SwiftUI app: today's list, the visit flow (knock timer, checklists,
// quote), the signature pad. All decisions come from DoorstepCore.
// Not compiled on this project's machines (no Swift toolchain): see ios/README.md.
import DoorstepCore
import SwiftUI

@main
struct DoorstepApp: App {
    @StateObject private var model = AppModel()

    var body: some Scene {
        WindowGroup {
            NavigationStack {
                TodayView().environmentObject(model)
            }
        }
    }
}

/// Holds the store and the screen states; a refusal's text is shown as is.
@MainActor
final class AppModel: ObservableObject {
    let lang = Language.from(tag: Locale.preferredLanguages.first ?? "zh-CN")
    private let store: DeviceStore?
    @Published var today: [VisitListItem] = []
    @Published var screen: VisitScreen?
    @Published var refusal: String?
    @Published var pending: UInt64 = 0

    init() {
        let url = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        // Enrolment comes with the sync issue; until then a local device id.
        let device = "ios-" + (UIDevice.current.identifierForVendor?.uuidString.prefix(8).lowercased() ?? "local")
        do {
            store = try DeviceStore.open(path: url.appendingPathComponent("doorstep.db").path,
                                         deviceId: device, technicianId: "T-local", technicianName: "Technician")
        } catch let e as DoorstepError {
            store = nil
            refusal = e.text(lang)
        } catch {
            store = nil
        }
        refreshToday()
    }

    func refreshToday() {
        guard let store else { return }
        let offset = Int32(TimeZone.current.secondsFromGMT() / 60)
        today = (try? store.todaysVisits(now: Date(), utcOffsetMinutes: offset)) ?? []
        pending = (try? store.pendingUploadCount()) ?? 0
    }

    func open(_ assignmentId: String) {
        guard let store else { return }
        run { try store.visitScreen(assignmentId: assignmentId, now: Date()) }
    }

    func send(_ assignmentId: String, _ commandJson: String) {
        guard let store else { return }
        run { try store.applyCommand(assignmentId: assignmentId, commandJson: commandJson, now: Date(), location: nil).screen }
        pending = (try? store.pendingUploadCount()) ?? pending
    }

    func preview(_ assignmentId: String, _ signOff: CustomerSignOff) -> ReportDigest? {
        try? store?.previewSignOff(assignmentId: assignmentId, signOff: signOff)
    }

    func signOff(_ assignmentId: String, _ signOff: CustomerSignOff) {
        guard let store else { return }
        run { try store.signOff(assignmentId: assignmentId, signOff: signOff, now: Date(), location: nil).screen }
    }

    func decline(_ assignmentId: String, reason: String) {
        guard let store else { return }
        run { try store.declineSignature(assignmentId: assignmentId, reason: reason, now: Date(), location: nil).screen }
    }

    private func run(_ f: () throws -> VisitScreen) {
        do {
            screen = try f()
            refusal = nil
        } catch let e as DoorstepError {
            refusal = e.text(lang)
        } catch {
            refusal = "\(error)"
        }
    }
}
