import DoorstepCore
import SwiftUI

/// The enrolment screen, shown until the phone is enrolled: at handover a
/// dispatcher signs in on the phone and names its technician. Only collects
/// the fields and shows the outcome; `AppModel.enrol` runs it off the main thread.
struct EnrolmentView: View {
    @EnvironmentObject var model: AppModel
    @State private var server = ""
    @State private var dispatcher = ""
    @State private var password = ""
    @State private var technician = ""

    private var complete: Bool {
        !server.trimmingCharacters(in: .whitespaces).isEmpty && !dispatcher.trimmingCharacters(in: .whitespaces).isEmpty
            && !password.isEmpty && !technician.trimmingCharacters(in: .whitespaces).isEmpty
    }

    var body: some View {
        NavigationStack {
            Form {
                Section {
                    TextField("enrol_server", text: $server, prompt: Text(verbatim: "https://doorstep.example.com"))
                        .keyboardType(.URL)
                        .textInputAutocapitalization(.never)
                        .autocorrectionDisabled()
                    TextField("enrol_dispatcher", text: $dispatcher)
                        .textInputAutocapitalization(.never)
                        .autocorrectionDisabled()
                    SecureField("enrol_password", text: $password)
                    TextField("enrol_technician", text: $technician)
                        .textInputAutocapitalization(.never)
                        .autocorrectionDisabled()
                } footer: {
                    Text("enrol_explain")
                }
                Section {
                    Text(String(format: NSLocalizedString("enrol_device", comment: ""), model.deviceId))
                        .font(.footnote)
                        .foregroundStyle(.secondary)
                    if let failure = model.enrolFailure {
                        Text(failure).foregroundStyle(.red)
                    }
                    Button {
                        model.enrol(server: server, dispatcher: dispatcher, password: password, technicianId: technician)
                    } label: {
                        HStack {
                            Text(model.enrolling ? LocalizedStringKey("enrol_busy") : LocalizedStringKey("enrol_button"))
                            if model.enrolling {
                                Spacer()
                                ProgressView()
                            }
                        }
                    }
                    .disabled(!complete || model.enrolling)
                }
            }
            .disabled(model.enrolling)
            .navigationTitle("enrol_title")
        }
    }
}
