// The thin Swift API over the generated bindings: the same small helpers the
// Kotlin shell has (error code and text, screen models, signature capture).
// Every rule stays in Rust.
import Foundation

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
        case let .Refused(code, _, _), let .InvalidInput(code, _, _), let .Store(code, _, _),
             let .Internal(code, _, _):
            return code
        case let .InvalidPlaybook(code, _, _, _), let .Script(code, _, _, _):
            return code
        }
    }

    /// The text in `lang`: what refused, and what would satisfy it.
    public func text(_ lang: Language) -> String {
        switch self {
        case let .Refused(_, en, zh), let .InvalidInput(_, en, zh), let .Store(_, en, zh),
             let .Internal(_, en, zh):
            return lang == .en ? en : zh
        case let .InvalidPlaybook(_, _, en, zh), let .Script(_, _, en, zh):
            return lang == .en ? en : zh
        }
    }
}

extension VisitScreen {
    /// Whether the visit offers `command` now.
    public func offers(_ command: String) -> Bool {
        nextActions.contains { $0.command == command }
    }

    /// The first action the standard requires now.
    public var primaryAction: ActionItem? { nextActions.first { $0.required } }
}

/// Money in minor units for display (`¥123.00`); never floating point.
public func formatMoney(_ minor: Int64, currency: String) -> String {
    let symbol = ["CNY": "¥", "USD": "$", "EUR": "€"][currency] ?? "\(currency) "
    let sign = minor < 0 ? "-" : ""
    let abs = minor.magnitude
    return "\(sign)\(symbol)\(abs / 100).\(String(format: "%02d", Int(abs % 100)))"
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
