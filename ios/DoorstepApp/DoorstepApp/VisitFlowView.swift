import DoorstepCore
import SwiftUI

/// The visit flow: prompts, next actions, kit and appearance checklists, the
/// knock timer at the door, the quote, and the signature pad when offered.
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
                    if let r = model.refusal { Text(r).foregroundStyle(.red) }
                    ForEach(s.prompts, id: \.code) { Text($0.text.pick(model.lang)) }
                    if s.stage == .atDoor, let next = s.timers.nextKnockAt {
                        let wait = max(0, Int(next.timeIntervalSince(now).rounded(.up)))
                        Text(wait == 0 ? NSLocalizedString("knock_now", comment: "")
                                       : String(format: NSLocalizedString("knock_in", comment: ""), wait))
                    }
                    if s.offers("check_kit_item") {
                        Text("kit").font(.subheadline)
                        ForEach(s.checklist, id: \.id) { item in
                            Button {
                                model.send(assignmentId, #"{"type":"check_kit_item","item":"\#(item.id)"}"#)
                            } label: {
                                Label(item.name.pick(model.lang), systemImage: item.status == "open" ? "circle" : "checkmark.circle")
                            }
                        }
                    }
                    if s.offers("check_appearance") {
                        ForEach(s.appearance, id: \.id) { Text("• " + $0.name.pick(model.lang)) }
                        Button("check_all") {
                            let ids = s.appearance.map { "\"\($0.id)\"" }.joined(separator: ",")
                            model.send(assignmentId, #"{"type":"check_appearance","items":[\#(ids)]}"#)
                        }
                    }
                    if let q = s.quote { QuoteView(quote: q, assignmentId: assignmentId) }
                    if s.offers("sign_off") { SignaturePadView(assignmentId: assignmentId) }
                    ForEach(s.nextActions.filter { oneTap.contains($0.command) }, id: \.command) { a in
                        Button(a.label.pick(model.lang)) { model.send(assignmentId, oneTapJson(a.command)) }
                            .buttonStyle(.borderedProminent)
                            .tint(a.required ? .accentColor : .gray)
                    }
                }
            }.padding()
        }
        .onAppear { model.open(assignmentId) }
        .onReceive(tick) { now = $0 }
    }
}

/// Commands with no input beyond the tap, and their JSON.
private let oneTap: Set<String> = ["knock", "door_answered", "enter", "put_on_shoe_covers", "lay_drop_cloth",
                                   "show_fee_schedule", "brief_customer", "leave"]

private func oneTapJson(_ command: String) -> String {
    switch command {
    case "knock": return #"{"type":"knock","method":"knock"}"#
    case "enter": return #"{"type":"enter","greeted":true,"permit_shown":true}"#
    case "leave": return #"{"type":"leave","service_card_given":true,"shoe_covers_off_at_door":true}"#
    default: return #"{"type":"\#(command)"}"#
    }
}

/// The quote: lines, the total, and the revision the customer accepts.
struct QuoteView: View {
    @EnvironmentObject var model: AppModel
    let quote: QuoteSummary
    let assignmentId: String

    var body: some View {
        VStack(alignment: .leading) {
            Text(String(format: NSLocalizedString("revision", comment: ""), Int(quote.revision)))
            ForEach(quote.lines, id: \.item) { l in
                Text("\(l.item) × \(l.qty)  \(formatMoney(l.amount, currency: quote.currency))")
            }
            Text(formatMoney(quote.customerTotal, currency: quote.currency)).bold()
            if !quote.accepted {
                Button("accept_quote") {
                    model.send(assignmentId, #"{"type":"accept_quote","revision":\#(quote.revision)}"#)
                }
            }
        }
    }
}
