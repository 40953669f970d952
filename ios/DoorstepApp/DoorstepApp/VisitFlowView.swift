import DoorstepCore
import SwiftUI

/// The visit flow: prompts, the knock timer at the door, the quote, and one
/// form per action the core offers (`actionForms`), rendered generically
/// from the core's description: no command JSON, no hard-coded choices.
/// Every refusal shows next to the field it concerns. A photo that is due
/// is taken with the camera (PhotoMomentsView) when the phone has one.
struct VisitFlowView: View {
    @EnvironmentObject var model: AppModel
    let assignmentId: String
    private let tick = Timer.publish(every: 1, on: .main, in: .common).autoconnect()
    @State private var now = Date()

    var body: some View {
        ScrollView {
            VStack(alignment: .leading, spacing: 12) {
                SyncBadgeView()
                if let s = model.screen {
                    Text(s.tradeName.pick(model.lang)).font(.headline)
                    if let c = s.customer {
                        VStack(alignment: .leading) {
                            Text(c.name ?? "").bold()
                            // The center masks the number until a privacy number is bound (138****8000): shown, not dialled.
                            if let phone = c.phone, !phone.contains("*"), let url = URL(string: "tel:\(phone.filter { !$0.isWhitespace })") {
                                Link(phone, destination: url)
                            } else if let phone = c.phone {
                                Text(phone)
                            }
                            Text(c.address ?? "")
                            Text(c.productModel ?? "")
                            Text(c.faultDescription ?? "")
                        }
                    }
                    if let r = model.refusal { Text(r).foregroundStyle(.red) }
                    ForEach(s.prompts, id: \.code) { Text($0.text.pick(model.lang)) }
                    if s.stage == .atDoor, let next = s.timers.nextKnockAt {
                        let wait = max(0, Int(next.timeIntervalSince(now).rounded(.up)))
                        Text(wait == 0 ? NSLocalizedString("knock_now", comment: "")
                                       : String(format: NSLocalizedString("knock_in", comment: ""), wait))
                    }
                    if let q = s.quote { QuoteView(quote: q) }
                    if let qr = model.qr, model.forms(assignmentId).contains(where: { $0.action == "collect_payment" }) {
                        QrPaymentView(qr: qr, assignmentId: assignmentId)
                    }
                    ForEach(model.forms(assignmentId), id: \.action) { form in
                        if form.action == "take_photo", CameraPicker.isAvailable {
                            // With a camera, a button per photo moment instead of the form (as on Android and the desktop).
                            PhotoMomentsView(form: form, assignmentId: assignmentId)
                        } else {
                            ActionFormView(form: form, assignmentId: assignmentId)
                        }
                    }
                }
            }.padding()
        }
        .onAppear { model.open(assignmentId) }
        .onReceive(tick) { now = $0 }
    }
}

/// One action's form: its fields by kind, and the submit button.
struct ActionFormView: View {
    @EnvironmentObject var model: AppModel
    let form: ActionForm
    let assignmentId: String
    @State private var texts: [String: String] = [:]
    @State private var chosen: [String: Set<String>] = [:]
    @State private var strokes: [String: [SignatureStroke]] = [:]
    @State private var rows: [String: [[String: String]]] = [:]
    @State private var problems: [String: String] = [:]

    var body: some View {
        DisclosureGroup(form.label.pick(model.lang)) {
            if let help = form.help { Text(help.pick(model.lang)).font(.footnote) }
            if form.action == "sign_off" {
                // The report the customer signs, read out by the core before they rate and sign.
                ForEach(Array(model.reportLines(assignmentId).enumerated()), id: \.offset) { _, line in
                    LabeledContent(line.label.pick(model.lang), value: line.value.pick(model.lang))
                }
            }
            ForEach(form.fields.filter(visible), id: \.name) { field in
                fieldView(field)
                if let p = problems[field.name] { Text(p).foregroundStyle(.red).font(.footnote) }
            }
            Button(form.label.pick(model.lang)) { submit() }
                .buttonStyle(.borderedProminent)
                .tint(form.required ? .accentColor : .gray)
        }
        .onAppear(perform: startFromDefaults)
    }

    private func startFromDefaults() {
        for f in form.fields {
            if let d = f.default {
                if f.kind == .multiChoice {
                    chosen[f.name] = Set(d.split(separator: ",").map(String.init))
                } else {
                    texts[f.name] = d
                }
            }
            if f.kind == .list {
                rows[f.name] = f.defaultItems.map { row in
                    Dictionary(row.values.compactMap { v -> (String, String)? in
                        if case let .text(t) = v.value { return (v.name, t) }
                        return nil
                    }, uniquingKeysWith: { a, _ in a })
                }
            }
        }
    }

    private func visible(_ f: FormField) -> Bool {
        guard let w = f.visibleWhen else { return true }
        return w.anyOf.contains(texts[w.field] ?? "")
    }

    private func binding(_ name: String) -> Binding<String> {
        Binding(get: { texts[name] ?? "" }, set: { texts[name] = $0 })
    }

    @ViewBuilder
    private func fieldView(_ f: FormField) -> some View {
        let label = f.label.pick(model.lang)
        switch f.kind {
        case .choice:
            Picker(label, selection: binding(f.name)) {
                Text("—").tag("")
                ForEach(f.options, id: \.id) { Text($0.label.pick(model.lang)).tag($0.id) }
            }
        case .multiChoice:
            Text(label)
            ForEach(f.options, id: \.id) { o in
                Toggle(o.label.pick(model.lang), isOn: Binding(
                    get: { chosen[f.name, default: []].contains(o.id) },
                    set: { on in
                        if on { chosen[f.name, default: []].insert(o.id) } else { chosen[f.name, default: []].remove(o.id) }
                    }))
            }
        case .yesNo:
            Toggle(label, isOn: Binding(get: { texts[f.name] == "yes" }, set: { texts[f.name] = $0 ? "yes" : "no" }))
        case .rating:
            // No default: the customer picks every star count.
            Picker(label, selection: binding(f.name)) {
                Text("—").tag("")
                ForEach(1...5, id: \.self) { Text(String(repeating: "★", count: $0)).tag(String($0)) }
            }.pickerStyle(.segmented)
        case .signature:
            Text(label)
            StrokePad { strokes[f.name] = $0 }
        case .location:
            Text(label)
            Text(model.location.map { String(format: "%.5f, %.5f ±%.0f m", $0.lat, $0.lon, $0.accuracyM) }
                 ?? NSLocalizedString("no_location", comment: ""))
        case .list:
            Text(label)
            ForEach(Array((rows[f.name] ?? []).enumerated()), id: \.offset) { i, _ in
                ForEach(f.itemFields, id: \.name) { item in
                    TextField(item.label.pick(model.lang), text: Binding(
                        get: { rows[f.name]?[i][item.name] ?? "" },
                        set: { rows[f.name]?[i][item.name] = $0 }))
                    if let p = problems["\(f.name)[\(i)].\(item.name)"] { Text(p).foregroundStyle(.red).font(.footnote) }
                }
            }
            Button("+") { rows[f.name, default: []].append([:]) }
        case .longText:
            TextField(label, text: binding(f.name), axis: .vertical).disabled(f.readOnly)
        default:
            // Text, integer, money (typed as yuan), date, time, duration, photo reference.
            TextField(label, text: binding(f.name)).disabled(f.readOnly)
        }
    }

    private func values() -> [FormValue] {
        var out: [FormValue] = []
        for f in form.fields where visible(f) {
            switch f.kind {
            case .multiChoice:
                out += chosen[f.name, default: []].sorted().map { FormValue(name: f.name, value: .text(text: $0)) }
            case .signature:
                if let s = strokes[f.name] { out.append(FormValue(name: f.name, value: .strokes(strokes: s))) }
            case .location:
                if let fix = model.location {
                    out.append(FormValue(name: f.name, value: .fix(fix: fix)))
                } else {
                    out.append(FormValue(name: f.name, value: .noLocation(reason: model.locationUnavailable)))
                }
            case .list:
                for (i, row) in (rows[f.name] ?? []).enumerated() {
                    for (k, v) in row where !v.isEmpty {
                        out.append(FormValue(name: "\(f.name)[\(i)].\(k)", value: .text(text: v)))
                    }
                }
            default:
                if let t = texts[f.name], !t.isEmpty { out.append(FormValue(name: f.name, value: .text(text: t))) }
            }
        }
        return out
    }

    private func submit() {
        var v = values()
        if form.action == "sign_off" {
            // Sign exactly what the screen showed: the preview's digest goes back.
            let draft = CustomerSignOff(
                quality: UInt8(texts["ratings.quality"] ?? "") ?? 0,
                attitude: UInt8(texts["ratings.attitude"] ?? "") ?? 0,
                comment: texts["comment"], strokes: strokes["strokes"] ?? [],
                consentText: texts["consent_text"] ?? "", shownDigest: nil)
            if let d = model.preview(assignmentId, draft) {
                v.append(FormValue(name: "shown_digest", value: .text(text: d.full)))
            }
        }
        problems = model.submit(assignmentId, form.action, v, location: model.location)
    }
}

/// A drawing pad that reports the strokes in device-independent units.
struct StrokePad: View {
    let changed: ([SignatureStroke]) -> Void
    @State private var lines: [[CGPoint]] = []
    @State private var capture = SignatureCapture(width: 1000, height: 400)

    var body: some View {
        GeometryReader { geo in
            Path { p in
                for line in lines where !line.isEmpty {
                    p.move(to: line[0])
                    line.dropFirst().forEach { p.addLine(to: $0) }
                }
            }
            .stroke(style: StrokeStyle(lineWidth: 2, lineCap: .round, lineJoin: .round))
            .contentShape(Rectangle())
            .gesture(DragGesture(minimumDistance: 0)
                .onChanged { v in
                    let x = v.location.x / geo.size.width * 1000, y = v.location.y / geo.size.height * 400
                    if v.translation == .zero { capture.down(x: x, y: y); lines.append([]) } else { capture.move(x: x, y: y) }
                    lines[lines.count - 1].append(v.location)
                }
                .onEnded { _ in capture.up(); changed(capture.signatureStrokes) })
        }.frame(height: 160).border(.gray)
        Button("clear") { capture.clear(); lines = []; changed([]) }
    }
}

/// The quote: lines and the total, formatted by the core's rules.
struct QuoteView: View {
    @EnvironmentObject var model: AppModel
    let quote: QuoteSummary

    var body: some View {
        VStack(alignment: .leading) {
            Text(String(format: NSLocalizedString("revision", comment: ""), Int(quote.revision)))
            ForEach(quote.lines, id: \.item) { l in
                Text("\(l.name.pick(model.lang)) × \(l.qty)  \(formatMoney(minor: l.amount, currency: quote.currency))")
            }
            Text(formatMoney(minor: quote.customerTotal, currency: quote.currency)).bold()
        }
    }
}
