// The thin Swift API over the generated bindings: the same small helpers the
// Kotlin shell has (error code and text, screen models, signature capture,
// enrolment vault, device and discount keys and device setup, the sync
// scheduler and its badge, the core's log into os.Logger). Every rule stays
// in Rust.
import CryptoKit
import Foundation
import Network
import os
import Security

public enum Language {
    case zh, en

    /// Chinese unless the phone is set to English (the core's fallback).
    public static func from(tag: String) -> Language {
        tag.lowercased().hasPrefix("en") ? .en : .zh
    }
}

extension LocalizedText {
    public func pick(_ lang: Language) -> String { lang == .en ? en : zh }
}

extension DoorstepError {
    /// The stable code (`kit_incomplete`, `store_disk_full`, ...).
    public var code: String {
        switch self {
        case let .InvalidInput(code, _, _), let .Store(code, _, _), let .Internal(code, _, _):
            return code
        case let .Refused(code, _, _, _), let .InvalidPlaybook(code, _, _, _), let .Script(code, _, _, _):
            return code
        case let .Sync(code, _, _, _, _):
            return code
        case let .InvalidForm(code, _, _, _, _):
            return code
        }
    }

    /// The refused fields of a submitted form (empty for other errors): show
    /// each problem next to its field.
    public var formProblems: [FormProblem] {
        if case let .InvalidForm(_, _, problems, _, _) = self { return problems }
        return []
    }

    /// Whether retrying later may cure it (sync errors only: no network, server busy).
    public var isTransient: Bool {
        if case let .Sync(_, transient, _, _, _) = self { return transient }
        return false
    }

    /// The text in `lang`: what refused, and what would satisfy it.
    public func text(_ lang: Language) -> String {
        switch self {
        case let .InvalidInput(_, en, zh), let .Store(_, en, zh), let .Internal(_, en, zh):
            return lang == .en ? en : zh
        case let .Refused(_, _, en, zh), let .InvalidPlaybook(_, _, en, zh), let .Script(_, _, en, zh):
            return lang == .en ? en : zh
        case let .Sync(_, _, _, en, zh):
            return lang == .en ? en : zh
        case let .InvalidForm(_, _, _, en, zh):
            return lang == .en ? en : zh
        }
    }
}

/// A core failure the UI can show: the stable code and both texts.
public struct CoreFailure: Equatable {
    public let code: String
    public let en: String
    public let zh: String

    public init(code: String, en: String, zh: String) {
        self.code = code
        self.en = en
        self.zh = zh
    }

    public init(_ error: DoorstepError) {
        self.init(code: error.code, en: error.text(.en), zh: error.text(.zh))
    }

    public func text(_ lang: Language) -> String { lang == .en ? en : zh }
}

extension VisitScreen {
    /// Whether the visit offers `command` now.
    public func offers(_ command: String) -> Bool {
        nextActions.contains { $0.command == command }
    }

    /// The first action the standard requires now.
    public var primaryAction: ActionItem? { nextActions.first { $0.required } }
}

extension VisitStage {
    /// The stage's name as the core gives it.
    public func label(_ lang: Language) -> String { stageLabel(stage: self).pick(lang) }
}

extension VisitOutcome {
    /// How the visit ended, as the core names it.
    public func label(_ lang: Language) -> String { outcomeLabel(outcome: self).pick(lang) }
}

/// Captures a signature in device-independent units (0...units) with time
/// offsets from the first touch, like the Kotlin shell's SignatureCapture.
public final class SignatureCapture {
    private let width: Double
    private let height: Double
    private let units: Double
    private var strokes: [[SignaturePoint]] = []
    private var drawing = false
    private var start: Date?
    private var lastT: UInt32 = 0

    public init(width: Double, height: Double, units: Double = 1000) {
        self.width = width
        self.height = height
        self.units = units
    }

    public func down(x: Double, y: Double, at time: Date = Date()) {
        strokes.append([])
        drawing = true
        add(x: x, y: y, at: time)
    }

    public func move(x: Double, y: Double, at time: Date = Date()) {
        if drawing { add(x: x, y: y, at: time) }
    }

    public func up() { drawing = false }

    public func clear() {
        strokes = []
        drawing = false
        start = nil
        lastT = 0
    }

    /// What the core accepts as a signature: a stroke of two or more points.
    public var isPlausible: Bool { strokes.contains { $0.count >= 2 } }

    public var signatureStrokes: [SignatureStroke] {
        strokes.filter { !$0.isEmpty }.map { SignatureStroke(points: $0) }
    }

    private func add(x: Double, y: Double, at time: Date) {
        let s = start ?? time
        start = s
        let ms = max(0, time.timeIntervalSince(s) * 1000)
        let t = max(lastT, UInt32(min(ms, Double(UInt32.max))))
        lastT = t
        let p = SignaturePoint(
            x: Int32(min(max(x, 0), width) / width * units),
            y: Int32(min(max(y, 0), height) / height * units),
            tMs: t
        )
        if let last = strokes[strokes.count - 1].last, last.x == p.x, last.y == p.y { return }
        strokes[strokes.count - 1].append(p)
    }
}

// MARK: - Enrolment

/// Where the shell keeps the enrolment, token included: the Keychain in the
/// app, memory in tests. Never the store file, which may be copied for support.
public protocol EnrolmentVault: AnyObject {
    func load() -> Enrolment?
    func save(_ enrolment: Enrolment) throws
    func clear()
}

/// A vault in memory (tests, previews).
public final class InMemoryEnrolmentVault: EnrolmentVault {
    private var held: Enrolment?

    public init(_ held: Enrolment? = nil) { self.held = held }
    public func load() -> Enrolment? { held }
    public func save(_ enrolment: Enrolment) throws { held = enrolment }
    public func clear() { held = nil }
}

/// The Keychain refused a write.
public struct KeychainError: Error, Equatable {
    public let status: OSStatus
}

/// The enrolment as one generic-password Keychain item, readable after the
/// first unlock (so a background sync can read it) and never leaving this
/// device (no iCloud Keychain, no backup restored elsewhere).
public final class KeychainEnrolmentVault: EnrolmentVault {
    private let service: String
    private let account = "enrolment"

    public init(service: String = "app.doorstep.enrolment") {
        self.service = service
    }

    private struct Stored: Codable {
        let serverUrl: String
        let deviceId: String
        let technicianId: String
        let technicianName: String
        let deviceToken: String
    }

    private var query: [String: Any] {
        [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
        ]
    }

    public func load() -> Enrolment? {
        var q = query
        q[kSecReturnData as String] = true
        q[kSecMatchLimit as String] = kSecMatchLimitOne
        var item: CFTypeRef?
        guard SecItemCopyMatching(q as CFDictionary, &item) == errSecSuccess,
              let data = item as? Data,
              let s = try? JSONDecoder().decode(Stored.self, from: data)
        else { return nil }
        return Enrolment(serverUrl: s.serverUrl, deviceId: s.deviceId, technicianId: s.technicianId,
                         technicianName: s.technicianName, deviceToken: s.deviceToken)
    }

    public func save(_ enrolment: Enrolment) throws {
        let data = try JSONEncoder().encode(Stored(
            serverUrl: enrolment.serverUrl, deviceId: enrolment.deviceId, technicianId: enrolment.technicianId,
            technicianName: enrolment.technicianName, deviceToken: enrolment.deviceToken
        ))
        SecItemDelete(query as CFDictionary)
        var q = query
        q[kSecValueData as String] = data
        q[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        let status = SecItemAdd(q as CFDictionary, nil)
        guard status == errSecSuccess else { throw KeychainError(status: status) }
    }

    public func clear() {
        SecItemDelete(query as CFDictionary)
    }
}

/// The core's HTTP over `URLSession`, so sync follows the phone's proxy, VPN
/// and trusted certificates (the Kotlin shell's UrlConnectionTransport). It
/// only moves bytes: any status is an answer for the core; only a failure to
/// get one is thrown. The core asks for zstd or gzip; URLSession decodes
/// gzip itself (zstd it leaves to the core), and the core sees a body that
/// is no longer gzip and reads it as is. Blocking: the core calls it on a
/// worker thread, never the main thread.
public final class URLSessionTransport: HttpTransport, @unchecked Sendable {
    private let session: URLSession
    /// Tasks in flight, so a cancelled sync can stop them.
    private var inFlight: [Int: URLSessionDataTask] = [:]
    private let lock = NSLock()

    public init(session: URLSession = URLSession(configuration: .ephemeral)) {
        self.session = session
    }

    public func send(request: HttpRequest) throws -> HttpResponse {
        guard let url = URL(string: request.url) else {
            throw TransportError.Network(reason: "not a URL: \(request.url)")
        }
        var req = URLRequest(url: url)
        req.httpMethod = request.method
        req.timeoutInterval = TimeInterval(request.timeoutMs) / 1000
        for h in request.headers { req.setValue(h.value, forHTTPHeaderField: h.name) }
        if request.method == "POST" || request.method == "PUT" { req.httpBody = request.body }

        let done = DispatchSemaphore(value: 0)
        var outcome: Result<HttpResponse, TransportError> = .failure(.Network(reason: "no answer"))
        let task = session.dataTask(with: req) { data, response, error in
            if let error {
                outcome = .failure(.Network(reason: error.localizedDescription))
            } else if let http = response as? HTTPURLResponse {
                let headers = http.allHeaderFields.map {
                    HttpHeader(name: String(describing: $0.key), value: String(describing: $0.value))
                }
                outcome = .success(HttpResponse(status: UInt16(clamping: http.statusCode), headers: headers,
                                                body: data ?? Data()))
            }
            done.signal()
        }
        lock.lock(); inFlight[task.taskIdentifier] = task; lock.unlock()
        task.resume()
        done.wait()
        lock.lock(); inFlight[task.taskIdentifier] = nil; lock.unlock()
        return try outcome.get()
    }

    /// The sync was cancelled: stop every task in flight.
    public func cancel() {
        lock.lock()
        let tasks = Array(inFlight.values)
        lock.unlock()
        tasks.forEach { $0.cancel() }
    }
}

/// The phone's device key: an ECDSA P-256 key made once under `tag` in the
/// Secure Enclave (in the Keychain where the device has none, such as the
/// simulator), never exportable, readable after the first unlock so a
/// background sync works. Its public half (the SEC1 point, 65 bytes) is
/// registered at enrolment; it signs each sign-off's evidence digest with
/// `ecdsaSignatureMessageX962SHA256` (DER), as the core verifies
/// (`core/src/device_key.rs`). The Kotlin shell's `AndroidKeystoreDeviceKey`
/// is its twin.
public final class KeychainDeviceKey: DeviceKeyHolder, @unchecked Sendable {
    private let tag: Data
    private let lock = NSLock()

    public init(tag: String = "app.doorstep.device-key") {
        self.tag = Data(tag.utf8)
    }

    private func failure(_ what: String, _ error: Unmanaged<CFError>?) -> DeviceKeyFailure {
        let reason = error.map { String(describing: $0.takeRetainedValue()) } ?? "unknown error"
        return DeviceKeyFailure.Keystore(reason: "\(what): \(reason)")
    }

    private func stored() -> SecKey? {
        let query: [String: Any] = [
            kSecClass as String: kSecClassKey,
            kSecAttrApplicationTag as String: tag,
            kSecAttrKeyType as String: kSecAttrKeyTypeECSECPrimeRandom,
            kSecReturnRef as String: true,
        ]
        var item: CFTypeRef?
        guard SecItemCopyMatching(query as CFDictionary, &item) == errSecSuccess, let found = item else { return nil }
        return (found as! SecKey)
    }

    private func privateKey() throws -> SecKey {
        lock.lock()
        defer { lock.unlock() }
        if let key = stored() { return key }
        var error: Unmanaged<CFError>?
        guard let access = SecAccessControlCreateWithFlags(nil, kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
                                                           .privateKeyUsage, &error) else {
            throw failure("access control", error)
        }
        func attributes(enclave: Bool) -> [String: Any] {
            var a: [String: Any] = [
                kSecAttrKeyType as String: kSecAttrKeyTypeECSECPrimeRandom,
                kSecAttrKeySizeInBits as String: 256,
                kSecPrivateKeyAttrs as String: [
                    kSecAttrIsPermanent as String: true,
                    kSecAttrApplicationTag as String: tag,
                    kSecAttrAccessControl as String: access,
                ] as [String: Any],
            ]
            if enclave { a[kSecAttrTokenID as String] = kSecAttrTokenIDSecureEnclave }
            return a
        }
        if let key = SecKeyCreateRandomKey(attributes(enclave: true) as CFDictionary, &error) { return key }
        guard let key = SecKeyCreateRandomKey(attributes(enclave: false) as CFDictionary, &error) else {
            throw failure("key generation", error)
        }
        return key
    }

    public func publicKey() throws -> Data {
        guard let pub = SecKeyCopyPublicKey(try privateKey()) else {
            throw DeviceKeyFailure.Keystore(reason: "the device key has no public key")
        }
        var error: Unmanaged<CFError>?
        guard let data = SecKeyCopyExternalRepresentation(pub, &error) as Data? else { throw failure("public key", error) }
        return data
    }

    public func sign(message: Data) throws -> Data {
        var error: Unmanaged<CFError>?
        guard let signature = SecKeyCreateSignature(try privateKey(), .ecdsaSignatureMessageX962SHA256,
                                                    message as CFData, &error) as Data? else {
            throw failure("signing", error)
        }
        return signature
    }
}

/// Where the shell keeps the phone's discount secret (STANDARDS §2.12, 报价:
/// offline, the center reads out a short code the core checks under it),
/// like the Kotlin shell's `DiscountKeyVault`. Enrolment issues it
/// (`Enrolment.discountSecret`, 64 hex digits); `DeviceSetup` imports it at
/// once and forgets it, and gives every store it opens this holder. Nothing
/// here logs, shows or returns the secret: only its MAC leaves.
public protocol DiscountKeyVault: DiscountKeyHolder {
    /// Keeps `secretHex` (as enrolment issued it), replacing any secret kept before.
    func keep(secretHex: String) throws
    /// Whether a secret is kept (a phone enrolled before discount secrets has none).
    func held() -> Bool
    /// Forgets the secret (a new enrolment that issued none).
    func forget()
}

/// The 32 bytes of a discount secret issued as 64 hex digits; the error never repeats the secret.
func discountSecretBytes(_ secretHex: String) throws -> Data {
    let text = Array(secretHex.trimmingCharacters(in: .whitespacesAndNewlines).utf8)
    func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
    var bytes = Data(capacity: 32)
    guard text.count == 64 else { throw DiscountKeyFailure.Keystore(reason: "the discount secret is not 64 hex digits") }
    for i in stride(from: 0, to: 64, by: 2) {
        guard let high = nibble(text[i]), let low = nibble(text[i + 1]) else {
            throw DiscountKeyFailure.Keystore(reason: "the discount secret is not 64 hex digits")
        }
        bytes.append(high << 4 | low)
    }
    return bytes
}

/// The phone's discount secret as one generic-password Keychain item under
/// `service`, readable after the first unlock (a check needs no unlock
/// prompt) and never leaving this device (no iCloud Keychain, no backup
/// restored elsewhere). The core's checks get CryptoKit's `HMAC<SHA256>`
/// over it, as the center computes its short codes
/// (`core/src/discount_approval.rs`). The Kotlin shell's
/// `AndroidKeystoreDiscountKey` is its twin.
public final class KeychainDiscountKey: DiscountKeyVault, @unchecked Sendable {
    private let service: String
    private let account = "discount-secret"

    public init(service: String = "app.doorstep.discount-key") {
        self.service = service
    }

    private var query: [String: Any] {
        [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
        ]
    }

    private func secret() throws -> Data {
        var q = query
        q[kSecReturnData as String] = true
        q[kSecMatchLimit as String] = kSecMatchLimitOne
        var item: CFTypeRef?
        let status = SecItemCopyMatching(q as CFDictionary, &item)
        guard status == errSecSuccess, let data = item as? Data else {
            throw DiscountKeyFailure.Keystore(reason: status == errSecItemNotFound
                ? "no discount secret kept" : "Keychain read failed (OSStatus \(status))")
        }
        return data
    }

    public func keep(secretHex: String) throws {
        let secret = try discountSecretBytes(secretHex)
        SecItemDelete(query as CFDictionary)
        var q = query
        q[kSecValueData as String] = secret
        q[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        let status = SecItemAdd(q as CFDictionary, nil)
        guard status == errSecSuccess else {
            throw DiscountKeyFailure.Keystore(reason: "Keychain write failed (OSStatus \(status))")
        }
    }

    public func held() -> Bool { (try? secret()) != nil }

    public func forget() {
        SecItemDelete(query as CFDictionary)
    }

    public func mac(message: Data) throws -> Data {
        let key = SymmetricKey(data: try secret())
        return Data(HMAC<SHA256>.authenticationCode(for: message, using: key))
    }
}

/// First run and every run after, like the Kotlin shell's DeviceSetup:
/// enrol through the server (a dispatcher signs in at handover, or the
/// center's one-time code), then open the store and its syncer from what
/// the vault holds. With a `deviceKey` (the Secure Enclave's) enrolment
/// registers its public half (version 2) and every store opened signs the
/// customers' sign-offs with it. With a `discountKey` (the Keychain's) the
/// discount secret enrolment issues is imported into it at once and dropped
/// from the enrolment (neither the vault nor the caller holds it), and every
/// store opened checks the center's offline discount codes with it.
public final class DeviceSetup {
    public let vault: EnrolmentVault
    public let storePath: String
    public let transport: HttpTransport
    public let deviceKey: DeviceKeyHolder?
    public let discountKey: DiscountKeyVault?

    public init(vault: EnrolmentVault, storePath: String, transport: HttpTransport = URLSessionTransport(),
                deviceKey: DeviceKeyHolder? = nil, discountKey: DiscountKeyVault? = nil) {
        self.vault = vault
        self.storePath = storePath
        self.transport = transport
        self.deviceKey = deviceKey
        self.discountKey = discountKey
    }

    /// Whether this phone has been enrolled.
    public var enrolled: Bool { vault.load() != nil }

    /// Enrols through `serverUrl` as `dispatcher`; on success the enrolment
    /// is in the vault and the store exists. Blocking: call it off the main thread.
    @discardableResult
    public func enrol(serverUrl: String, dispatcher: String, password: String,
                      technicianId: String, deviceId: String) throws -> Enrolment {
        let enrolment = try keepDiscountSecret(
            enrolDevice(transport: transport, serverUrl: serverUrl, dispatcher: dispatcher, password: password,
                        technicianId: technicianId, deviceId: deviceId, deviceKey: deviceKey))
        // Create the store now so a wrong path fails here, not on first use.
        try createStore(for: enrolment)
        try vault.save(enrolment)
        return enrolment
    }

    /// Enrols with the center's one-time code: `codeOrLink` is the scanned QR
    /// link (`doorstep://enrol?server=…&code=…`, which names the server) or
    /// the code as typed, sent to `serverUrl`. On success the enrolment is in
    /// the vault and the store exists. Blocking: call it off the main thread.
    @discardableResult
    public func enrolWithCode(_ codeOrLink: String, serverUrl: String) throws -> Enrolment {
        let text = codeOrLink.trimmingCharacters(in: .whitespaces)
        let issued: Enrolment
        if text.hasPrefix("doorstep://") {
            let link = try readEnrolmentLink(link: text)
            issued = try enrolDeviceWithCode(transport: transport, serverUrl: link.serverUrl, code: link.code, deviceKey: deviceKey)
        } else {
            issued = try enrolDeviceWithCode(transport: transport, serverUrl: serverUrl, code: text, deviceKey: deviceKey)
        }
        let enrolment = try keepDiscountSecret(issued)
        try createStore(for: enrolment)
        try vault.save(enrolment)
        return enrolment
    }

    /// The enrolled phone's store; nil before enrolment.
    public func openStore() throws -> DeviceStore? {
        guard let e = vault.load() else { return nil }
        return try openStore(for: e)
    }

    /// The sync loop for `store` with the vault's server and token; nil before enrolment.
    public func syncService(for store: DeviceStore, timeoutSeconds: UInt32 = 30) throws -> SyncService? {
        guard let e = vault.load() else { return nil }
        return try SyncService(store: store, settings: SyncSettings(serverUrl: e.serverUrl, deviceToken: e.deviceToken,
                                                                     timeoutSeconds: timeoutSeconds),
                               transport: transport)
    }

    /// A syncer for `store` with the vault's server and token; nil before enrolment.
    public func syncer(for store: DeviceStore, timeoutSeconds: UInt32 = 30) throws -> Syncer? {
        guard let e = vault.load() else { return nil }
        return try Syncer(store: store, settings: SyncSettings(serverUrl: e.serverUrl, deviceToken: e.deviceToken,
                                                               timeoutSeconds: timeoutSeconds),
                          transport: transport)
    }

    /// Imports `e`'s discount secret into `discountKey` (or forgets the one an
    /// earlier enrolment left, when this one issued none) and returns the
    /// enrolment without it. A Keychain that refuses the import fails the
    /// enrolment: enrol again once it works.
    private func keepDiscountSecret(_ e: Enrolment) throws -> Enrolment {
        var kept = e
        kept.discountSecret = nil
        guard let discountKey else { return kept }
        do {
            if let secret = e.discountSecret { try discountKey.keep(secretHex: secret) } else { discountKey.forget() }
        } catch {
            let reason: String
            if let failure = error as? DiscountKeyFailure, case let .Keystore(r) = failure {
                reason = r
            } else {
                reason = String(describing: error)
            }
            throw DoorstepError.InvalidInput(
                code: "discount_key_unavailable",
                en: "The phone's key store would not keep the discount secret (\(reason)); enrol again.",
                zh: "本机的密钥库无法保存折扣密钥（\(reason)）：请重新登记。")
        }
        return kept
    }

    /// Creates `e`'s store and pins the server's playbook key in it, so the
    /// store keeps only the company playbooks the server signed.
    private func createStore(for e: Enrolment) throws {
        let store = try openStore(for: e)
        if let key = e.playbookKey { try store.trustPlaybookKey(key: key) }
        try store.closeStore()
    }

    private func openStore(for e: Enrolment) throws -> DeviceStore {
        let store = try DeviceStore.open(path: storePath, deviceId: e.deviceId, technicianId: e.technicianId,
                                         technicianName: e.technicianName)
        if let deviceKey { try store.useDeviceKey(key: deviceKey) }
        if let discountKey, discountKey.held() { try store.useDiscountKey(key: discountKey) }
        return store
    }
}

// MARK: - Sync loop

/// Forwards the core loop's states (called on the core's sync thread).
private final class StateForwarder: SyncStateListener, @unchecked Sendable {
    private let forward: (SyncServiceState) -> Void

    init(_ forward: @escaping (SyncServiceState) -> Void) { self.forward = forward }

    func onState(state: SyncServiceState) { forward(state) }
}

/// The core's one sync loop as the app holds it, like the Kotlin shell's
/// SyncLoop: no timer and no retry policy here (those are the core's
/// `SyncService`), only the platform's signals passed in — connectivity
/// from NWPathMonitor, `syncNow()`, the app in the foreground, and
/// `backgroundWake()` for a BGAppRefreshTask — and the loop's state passed
/// out to `onState` on the main queue, in order. `close()` stops the loop.
public final class SyncLoop: @unchecked Sendable {
    private let service: SyncServiceProtocol
    private let onState: (SyncServiceState) -> Void
    private let monitorQueue = DispatchQueue(label: "app.doorstep.sync.network", qos: .utility)
    private let lock = NSLock()
    // Guarded by `lock`.
    private var handle: TaskHandle?
    private var monitor: NWPathMonitor?
    private var current: SyncServiceState

    public init(service: SyncServiceProtocol, onState: @escaping (SyncServiceState) -> Void) {
        self.service = service
        self.onState = onState
        current = service.state()
    }

    /// The latest state (any thread).
    public var state: SyncServiceState { locked { current } }

    /// Starts: watches connectivity (unless told not to, in tests) and starts the core's loop.
    public func start(monitorConnectivity: Bool = true) throws {
        if monitorConnectivity {
            let m = NWPathMonitor()
            m.pathUpdateHandler = { [weak self] path in self?.connectivityChanged(path.status == .satisfied) }
            locked { monitor = m }
            m.start(queue: monitorQueue)
        }
        let forwarder = StateForwarder { [weak self] s in
            guard let self else { return }
            self.locked { self.current = s }
            let onState = self.onState
            DispatchQueue.main.async { onState(s) }
        }
        let started = try service.start(listener: forwarder)
        let previous: TaskHandle? = locked {
            defer { handle = started }
            return handle
        }
        previous?.cancel()
    }

    /// The connectivity callback. Going offline cancels a sync in flight; coming back syncs at once.
    public func connectivityChanged(_ isOnline: Bool) { service.setOnline(online: isOnline) }

    /// Sync as soon as possible: the button, a newly recorded command. Bursts cost one sync.
    public func syncNow() { service.syncNow() }

    /// The app came to the foreground.
    public func foregrounded() { service.appForegrounded() }

    /// One sync to completion, for a BGAppRefreshTask. Blocking: call it off the main thread.
    public func backgroundWake() throws -> SyncSummary { try service.backgroundWake() }

    /// Stops the loop and the sync in flight; the state becomes `.stopped`.
    public func close() {
        let (h, m): (TaskHandle?, NWPathMonitor?) = locked {
            defer {
                handle = nil
                monitor = nil
            }
            return (handle, monitor)
        }
        m?.cancel()
        h?.cancel()
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

/// The sync badge on every screen (the Kotlin shell's SyncBadgeState): one
/// line of text, whether it is a problem, whether a sync is running, and how
/// many records wait. Reassures that offline work is safe; asks for action
/// only when a retry will not help (then the text is the core's).
public struct SyncBadgeState: Equatable {
    public let text: String
    public let pending: UInt64
    public let problem: Bool
    public let busy: Bool

    /// The badge for the core loop's `state`; `pending` is the app's freshest count (the loop's own by default);
    /// times are the core's (`times`: the business time zone's, never the phone's own).
    public static func of(_ state: SyncServiceState, pending: UInt64? = nil, lang: Language,
                          times: LocalTimes = LocalTimes.inDefaultZone()) -> SyncBadgeState {
        let pending = pending ?? state.pending
        let en = lang == .en
        let waiting = pending == 0 ? "" : (en ? " · \(pending) waiting" : " · \(pending) 条待上传")
        func badge(_ text: String, problem: Bool = false, busy: Bool = false) -> SyncBadgeState {
            SyncBadgeState(text: text, pending: pending, problem: problem, busy: busy)
        }
        switch state.phase {
        case .idle:
            return badge((en ? "Not synced yet" : "尚未同步") + waiting)
        case let .syncing(p):
            var detail = ""
            if let p {
                if p.stage == .uploading {
                    detail = en ? " · sending, \(p.pending) left" : " · 正在上传，剩余 \(p.pending) 条"
                } else {
                    detail = en ? " · \(p.downloaded) updates received" : " · 已接收 \(p.downloaded) 条更新"
                }
            }
            return badge((en ? "Syncing" : "同步中") + detail, busy: true)
        case .synced:
            let at = state.lastSuccessAt.map { times.clockTime(at: $0) } ?? ""
            return badge((en ? "Synced at \(at)" : "已同步 \(at)") + waiting)
        case let .retrying(_, _, retryAt):
            let t = times.clockTime(at: retryAt)
            return badge((en ? "Offline work is safe; retrying at \(t)" : "记录已保存在手机上，\(t) 自动重试") + waiting)
        case let .needsAttention(failure, _):
            return badge(en ? failure.en : failure.zh, problem: true)
        case .offline:
            return badge((en ? "Offline: records are kept on the phone" : "离线：记录保存在手机上") + waiting)
        case .stopped:
            return badge((en ? "Sync stopped" : "同步已停止") + waiting)
        }
    }
}

// MARK: - Core log

/// The core's log lines into os.Logger (subsystem `app.doorstep`, category
/// `core`). The core logs ids, counts and error codes, never customer data,
/// so the lines are marked public. Call `install` once at startup; calling
/// it again replaces the sink and level.
public enum CoreLog {
    public static func install(level: LogLevel = .info, subsystem: String = "app.doorstep") throws {
        try setLogger(logger: OSLogForwarder(os.Logger(subsystem: subsystem, category: "core")), maxLevel: level)
    }

    /// Stops forwarding.
    public static func uninstall() {
        try? setLogger(logger: nil, maxLevel: .error)
    }
}

private final class OSLogForwarder: DoorstepCore.Logger, @unchecked Sendable {
    private let sink: os.Logger

    init(_ sink: os.Logger) { self.sink = sink }

    func log(record: LogRecord) {
        let type: OSLogType
        switch record.level {
        case .error: type = .error
        case .warn: type = .default
        case .info: type = .info
        case .debug, .trace: type = .debug
        }
        sink.log(level: type, "\(record.target, privacy: .public): \(record.message, privacy: .public)")
    }
}
