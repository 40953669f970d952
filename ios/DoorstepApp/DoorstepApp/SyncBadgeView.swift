import DoorstepCore
import SwiftUI

/// The sync badge on the today list and the visit screens: renders the
/// model's `SyncBadgeState` as it is (its text, a spinner while busy, red
/// when someone must act) plus a "sync now" button.
struct SyncBadgeView: View {
    @EnvironmentObject var model: AppModel

    var body: some View {
        let badge = model.badge
        HStack(spacing: 8) {
            if badge.busy {
                ProgressView().controlSize(.small)
            }
            Text(badge.text)
                .font(.footnote)
                .foregroundStyle(badge.problem ? Color.red : Color.secondary)
            Spacer()
            Button("sync_now") { model.syncNow() }
                .buttonStyle(.borderless) // in a List row: only the button is tappable
                .font(.footnote)
                .disabled(badge.busy)
        }
    }
}
