// The SwiftUI app: enrolment at handover, then today's list, the visit flow
// (knock timer, checklists, quote, watermarked photos), the signature pad,
// each under the sync badge. All decisions come from DoorstepCore; this owns
// the screen state, the store, the core's sync loop, and the BGTaskScheduler
// wake-ups.
// Info.plist needs `BGTaskSchedulerPermittedIdentifiers` = [app.doorstep.sync],
// `UIBackgroundModes` = [fetch] and `NSCameraUsageDescription` (see Info.plist
// beside this file).
// Not compiled on this project's machines (no Swift toolchain): see ios/README.md.
import BackgroundTasks
import DoorstepCore
import SwiftUI
import UIKit

@main
struct DoorstepApp: App {
    @StateObject private var model = AppModel()
    @Environment(\.scenePhase) private var scenePhase

    init() {
        // Must be registered before launch finishes; a background launch runs it too.
        BackgroundSync.shared.register()
        BackgroundSync.shared.schedule()
    }

    var body: some Scene {
        WindowGroup {
            Group {
                if model.enrolled {
                    NavigationStack { TodayView() }
                } else {
                    EnrolmentView()
                }
            }
            .environmentObject(model)
        }
        .onChange(of: scenePhase) { phase in
            // Back in the foreground: a signal to the core's loop, which syncs at once.
            if phase == .active { model.foregrounded() }
            // Going to the background: ask iOS for the next wake-up.
            if phase == .background { BackgroundSync.shared.schedule() }
        }
    }
}

/// Holds the enrolment, the store, the core's sync loop and the screen states;
/// a refusal's text is shown as is.
@MainActor
final class AppModel: ObservableObject {
    let lang = Language.from(tag: Locale.preferredLanguages.first ?? "zh-CN")
    let setup: DeviceSetup
    /// This phone's id for enrolment (the enrolled id comes from the vault afterwards).
    let deviceId: String

    @Published private(set) var enrolled: Bool
    @Published private(set) var enrolling = false
    @Published private(set) var enrolFailure: String?

    private var store: DeviceStore?
    private var syncLoop: SyncLoop?
    /// Pay by QR through the center (a Syncer of its own: the loop owns its client).
    @Published private(set) var qr: QrPaymentModel?
    private var openId: String?
    @Published private(set) var syncState = SyncServiceState(phase: .idle, lastSuccessAt: nil, pending: 0)
    @Published var today: [VisitListItem] = []
    @Published var screen: VisitScreen?
    @Published var refusal: String?
    @Published var pending: UInt64 = 0
    /// A photo is being watermarked and stored (the moment buttons wait).
    @Published private(set) var savingPhoto = false
    /// The phone's last fix (set by the location provider), or nil with the reason.
    @Published var location: Location?
    var locationUnavailable: LocationUnavailable = .noFix

    /// Every time a screen shows, formatted by the core in the business time zone (the store's; the default before enrolment).
    var times: LocalTimes { (try? store?.localTimes()) ?? LocalTimes.inDefaultZone() }

    var badge: SyncBadgeState { SyncBadgeState.of(syncState, pending: pending, lang: lang, times: times) }

    init() {
        // Fails only if something else owns the core's log facade: the app still works.
        try? CoreLog.install(level: .info)
        let url = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        setup = DeviceSetup(vault: KeychainEnrolmentVault(), storePath: url.appendingPathComponent("doorstep.db").path,
                            deviceKey: KeychainDeviceKey(), discountKey: KeychainDiscountKey())
        deviceId = "ios-" + (UIDevice.current.identifierForVendor ?? UUID()).uuidString.lowercased()
        enrolled = setup.enrolled
        if enrolled { openSession() }
    }

    // MARK: enrolment

    /// Enrols off the main thread; on success opens the store and starts sync.
    func enrol(server: String, dispatcher: String, password: String, technicianId: String) {
        let deviceId = self.deviceId
        let server = server.trimmingCharacters(in: .whitespaces)
        let dispatcher = dispatcher.trimmingCharacters(in: .whitespaces)
        let technicianId = technicianId.trimmingCharacters(in: .whitespaces)
        runEnrolment { setup in
            try setup.enrol(serverUrl: server, dispatcher: dispatcher, password: password,
                            technicianId: technicianId, deviceId: deviceId)
        }
    }

    /// Enrols with the center's one-time code off the main thread; on success
    /// opens the store and starts sync.
    func enrolWithCode(_ codeOrLink: String, server: String) {
        let server = server.trimmingCharacters(in: .whitespaces)
        runEnrolment { setup in try setup.enrolWithCode(codeOrLink, serverUrl: server) }
    }

    /// Runs one enrolment off the main thread and shows its outcome: the
    /// core's refusal in the phone's language, or the enrolled phone's screens.
    private func runEnrolment(_ enrol: @escaping @Sendable (DeviceSetup) throws -> Void) {
        guard !enrolling else { return }
        enrolling = true
        enrolFailure = nil
        let setup = self.setup, lang = self.lang
        Task {
            let failure: String? = await Task.detached(priority: .userInitiated) { () -> String? in
                do {
                    try enrol(setup)
                    return nil
                } catch let e as DoorstepError {
                    return e.text(lang)
                } catch {
                    // The Keychain refused the write: not the core's.
                    return NSLocalizedString("enrol_vault_failed", comment: "")
                }
            }.value
            enrolling = false
            if let failure {
                enrolFailure = failure
            } else {
                enrolled = true
                openSession()
            }
        }
    }

    private func openSession() {
        do {
            guard let store = try setup.openStore(), let service = try setup.syncService(for: store) else { return }
            self.store = store
            let loop = SyncLoop(service: service) { [weak self] state in
                // Delivered on the main queue, in order.
                MainActor.assumeIsolated { self?.syncChanged(state) }
            }
            syncLoop = loop
            if let syncer = try setup.syncer(for: store) {
                qr = QrPaymentModel(syncer: syncer, store: store) { [weak self] screen in
                    self?.screen = screen
                    self?.recorded()
                }
            }
            // Background wake-ups while the screens are up join this loop.
            BackgroundSync.shared.attach(loop)
            refreshToday()
            try loop.start()
        } catch let e as DoorstepError {
            refusal = e.text(lang)
        } catch {
            refusal = "\(error)"
        }
    }

    // MARK: sync

    func syncNow() { syncLoop?.syncNow() }

    func foregrounded() { syncLoop?.foregrounded() }

    private func syncChanged(_ state: SyncServiceState) {
        syncState = state
        guard case let .synced(summary, _) = state.phase else { return }
        if summary.changes > 0 {
            // New, changed, reassigned or cancelled assignments arrived.
            refreshToday()
            if let id = openId, let store { run { try store.visitScreen(assignmentId: id, now: Date()) } }
        } else {
            pending = (try? store?.pendingUploadCount()) ?? pending
        }
    }

    /// A command was recorded: count it as waiting and send it as soon as the phone can.
    private func recorded() {
        pending = (try? store?.pendingUploadCount()) ?? pending
        syncLoop?.syncNow()
    }

    // MARK: visits

    func refreshToday() {
        guard let store else { return }
        today = (try? store.businessDayVisits(now: Date())) ?? []
        pending = (try? store.pendingUploadCount()) ?? 0
    }

    func open(_ assignmentId: String) {
        guard let store else { return }
        openId = assignmentId
        run { try store.visitScreen(assignmentId: assignmentId, now: Date()) }
    }

    /// The form of every action the visit offers now (the core describes them).
    func forms(_ assignmentId: String) -> [ActionForm] {
        (try? store?.actionForms(assignmentId: assignmentId)) ?? []
    }

    /// Submits an action's form: the core fills the command. Returns the
    /// refused fields (dotted name → text), empty when it was recorded.
    @discardableResult
    func submit(_ assignmentId: String, _ action: String, _ values: [FormValue],
                location: Location? = nil) -> [String: String] {
        guard let store else { return [:] }
        do {
            screen = try store.submitAction(assignmentId: assignmentId, action: action, values: values,
                                            now: Date(), location: location).screen
            refusal = nil
            recorded()
            return [:]
        } catch let e as DoorstepError {
            refusal = e.text(lang)
            return Dictionary(e.formProblems.map { ($0.field, lang == .en ? $0.en : $0.zh) },
                              uniquingKeysWith: { a, _ in a })
        } catch {
            refusal = "\(error)"
            return [:]
        }
    }

    /// Records the photo of `moment`, as the Kotlin shell's
    /// `StoreActionForms.takePhoto` does: off the main thread the core lays
    /// the watermark out for the stored size (`photoWatermark`: the time in
    /// the business zone, the place, the technician, the work order), it is
    /// burned in and encoded (PhotoWatermarkRenderer), and the core keeps the
    /// JPEG (uploaded by the next sync) and records the photo (`storePhoto`).
    func takePhoto(_ assignmentId: String, moment: String, image: UIImage) {
        guard let store, !savingPhoto else { return }
        savingPhoto = true
        let location = self.location
        Task {
            let outcome = await Task.detached(priority: .userInitiated) { () -> Result<VisitScreen, DoorstepError> in
                do {
                    let now = Date()
                    let photo = CapturedPhoto(image)
                    let mark = try store.photoWatermark(assignmentId: assignmentId, now: now, location: location,
                                                        width: photo.width, height: photo.height,
                                                        utcOffsetMinutes: AppModel.businessOffsetMinutes(store, at: now))
                    let stored = ShellPhoto(moment: moment, bytes: PhotoWatermarkRenderer.jpeg(photo, mark: mark),
                                            width: photo.width, height: photo.height)
                    return .success(try store.storePhoto(assignmentId: assignmentId, photo: stored, now: now,
                                                         location: location).result.screen)
                } catch let e as DoorstepError {
                    return .failure(e)
                } catch {
                    return .failure(.Internal(code: "internal", en: "\(error)", zh: "\(error)"))
                }
            }.value
            savingPhoto = false
            switch outcome {
            case .success(let screen):
                self.screen = screen
                refusal = nil
                recorded()
            case .failure(let e):
                refusal = e.text(lang)
            }
        }
    }

    /// The business time zone's offset from UTC at `now`, in minutes; China's
    /// 480 when the store names no zone the phone knows (as the Kotlin shell).
    nonisolated private static func businessOffsetMinutes(_ store: DeviceStore, at now: Date) -> Int32 {
        guard let name = try? store.businessZoneName(), let zone = TimeZone(identifier: name) else { return 480 }
        return Int32(zone.secondsFromGMT(for: now) / 60)
    }

    func preview(_ assignmentId: String, _ signOff: CustomerSignOff) -> ReportDigest? {
        try? store?.previewSignOff(assignmentId: assignmentId, signOff: signOff)
    }

    /// The report the customer reads before rating and signing, as the core reads it out.
    func reportLines(_ assignmentId: String) -> [ReportLine] {
        (try? store?.reportLines(assignmentId: assignmentId)) ?? []
    }

    func signOff(_ assignmentId: String, _ signOff: CustomerSignOff) {
        guard let store else { return }
        if run({ try store.signOff(assignmentId: assignmentId, signOff: signOff, now: Date(), location: nil).screen }) {
            recorded()
        }
    }

    func decline(_ assignmentId: String, reason: String) {
        guard let store else { return }
        if run({ try store.declineSignature(assignmentId: assignmentId, reason: reason, now: Date(), location: nil).screen }) {
            recorded()
        }
    }

    @discardableResult
    private func run(_ f: () throws -> VisitScreen) -> Bool {
        do {
            screen = try f()
            refusal = nil
            return true
        } catch let e as DoorstepError {
            refusal = e.text(lang)
        } catch {
            refusal = "\(error)"
        }
        return false
    }
}

/// Background sync with BGTaskScheduler: a BGAppRefreshTask (identifier
/// `app.doorstep.sync`, at the earliest 15 minutes out; iOS decides when)
/// calls the core's `background_wake()` — one sync to completion — on the
/// screens' loop when it is up, else on a sync service of its own. When
/// and how to retry inside the app stays the core loop's; iOS only wakes it.
final class BackgroundSync: @unchecked Sendable {
    static let identifier = "app.doorstep.sync"
    static let shared = BackgroundSync()

    private let lock = NSLock()
    // Guarded by `lock`.
    private var loop: SyncLoop?

    /// The screens' loop, once it runs.
    func attach(_ loop: SyncLoop?) { lock.withLock { self.loop = loop } }

    func register() {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: Self.identifier, using: nil) { task in
            guard let task = task as? BGAppRefreshTask else { return task.setTaskCompleted(success: false) }
            self.run(task)
        }
    }

    /// Asks iOS for the next wake-up (replacing a pending request).
    func schedule() {
        let request = BGAppRefreshTaskRequest(identifier: Self.identifier)
        request.earliestBeginDate = Date(timeIntervalSinceNow: 15 * 60)
        try? BGTaskScheduler.shared.submit(request)
    }

    private func run(_ task: BGAppRefreshTask) {
        schedule()
        // Out of time: iOS suspends the app; what was acknowledged or applied stays, the rest goes next time.
        task.expirationHandler = { task.setTaskCompleted(success: false) }
        Thread.detachNewThread {
            task.setTaskCompleted(success: (try? self.wake()) != nil)
        }
    }

    /// One sync to completion (blocking).
    private func wake() throws -> SyncSummary {
        if let loop = lock.withLock({ loop }) { return try loop.backgroundWake() }
        let support = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
        let setup = DeviceSetup(vault: KeychainEnrolmentVault(), storePath: support.appendingPathComponent("doorstep.db").path,
                                deviceKey: KeychainDeviceKey(), discountKey: KeychainDiscountKey())
        // Not enrolled yet: nothing to sync.
        guard let store = try setup.openStore(), let service = try setup.syncService(for: store) else {
            return SyncSummary(pushed: 0, duplicates: 0, refused: 0, changes: 0, pending: 0, clockOffsetMs: 0,
                               bytesSent: 0, bytesReceived: 0)
        }
        return try service.backgroundWake()
    }
}
