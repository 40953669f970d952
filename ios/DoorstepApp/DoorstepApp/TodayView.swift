import DoorstepCore
import SwiftUI

/// Today's visits by window start, under the sync badge (which carries the not-yet-synced count).
struct TodayView: View {
    @EnvironmentObject var model: AppModel

    var body: some View {
        List {
            SyncBadgeView()
            if model.today.isEmpty { Text("no_visits") }
            ForEach(model.today, id: \.assignmentId) { v in
                NavigationLink(value: v.assignmentId) {
                    VStack(alignment: .leading) {
                        Text(v.window.map { model.times.clockWindow(window: $0).pick(model.lang) } ?? "")
                        Text(v.trade)
                    }
                }
            }
        }
        .navigationTitle("today")
        .navigationDestination(for: String.self) { id in VisitFlowView(assignmentId: id) }
        .onAppear { model.refreshToday() }
    }
}
