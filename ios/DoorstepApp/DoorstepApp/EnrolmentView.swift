import DoorstepCore
import SwiftUI

/// The enrolment screen, shown until the phone is enrolled: at handover a
/// dispatcher signs in on the phone and names its technician, or the phone
/// takes the center's one-time code (the console's QR link, scanned with
/// "扫码 / Scan QR code", pasted or typed). Only collects the fields and
/// shows the outcome; `AppModel.enrol` runs it off the main thread.
struct EnrolmentView: View {
    @EnvironmentObject var model: AppModel
    @State private var server = ""
    @State private var dispatcher = ""
    @State private var password = ""
    @State private var technician = ""
    /// With the center's one-time code instead of a dispatcher's sign-in.
    @State private var byCode = false
    @State private var code = ""
    /// The QR scanner is up.
    @State private var scanning = false
    @State private var cameraRefused = false

    private var complete: Bool {
        if byCode {
            let text = code.trimmingCharacters(in: .whitespaces)
            // A scanned link names the server; a typed code needs it.
            return text.hasPrefix("doorstep://") || (!text.isEmpty && !server.trimmingCharacters(in: .whitespaces).isEmpty)
        }
        return !server.trimmingCharacters(in: .whitespaces).isEmpty && !dispatcher.trimmingCharacters(in: .whitespaces).isEmpty
            && !password.isEmpty && !technician.trimmingCharacters(in: .whitespaces).isEmpty
    }

    var body: some View {
        NavigationStack {
            Form {
                Section {
                    Toggle("enrol_by_code", isOn: $byCode)
                    if QrScannerView.isAvailable {
                        Button {
                            Task { await openScanner() }
                        } label: {
                            Label("enrol_scan", systemImage: "qrcode.viewfinder")
                        }
                    }
                    if cameraRefused { CameraRefusedNote() }
                }
                if byCode {
                    Section {
                        TextField("enrol_code", text: $code)
                            .textInputAutocapitalization(.characters)
                            .autocorrectionDisabled()
                        TextField("enrol_server_if_typed", text: $server, prompt: Text(verbatim: "https://doorstep.example.com"))
                            .keyboardType(.URL)
                            .textInputAutocapitalization(.never)
                            .autocorrectionDisabled()
                    } footer: {
                        Text("enrol_code_explain")
                    }
                } else {
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
                }
                Section {
                    Text(String(format: NSLocalizedString("enrol_device", comment: ""), model.deviceId))
                        .font(.footnote)
                        .foregroundStyle(.secondary)
                    if let failure = model.enrolFailure {
                        Text(failure).foregroundStyle(.red)
                    }
                    Button {
                        if byCode {
                            model.enrolWithCode(code, server: server)
                        } else {
                            model.enrol(server: server, dispatcher: dispatcher, password: password, technicianId: technician)
                        }
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
            .sheet(isPresented: $scanning) { scanner }
        }
    }

    /// The camera over the whole sheet, what to point it at, and a way out.
    private var scanner: some View {
        NavigationStack {
            QrScannerView { text in
                // Into the code form; the technician still presses "登记 / Enrol" and sees what was scanned.
                code = text
                byCode = true
                scanning = false
            }
            .ignoresSafeArea(edges: .bottom)
            .safeAreaInset(edge: .bottom) {
                Text("enrol_scan_prompt")
                    .frame(maxWidth: .infinity)
                    .padding()
                    .background(.ultraThinMaterial)
            }
            .navigationTitle("enrol_scan")
            .navigationBarTitleDisplayMode(.inline)
            .toolbar {
                ToolbarItem(placement: .cancellationAction) {
                    Button("cancel") { scanning = false }
                }
            }
        }
    }

    private func openScanner() async {
        let allowed = await CameraAccess.request()
        cameraRefused = !allowed
        scanning = allowed
    }
}
