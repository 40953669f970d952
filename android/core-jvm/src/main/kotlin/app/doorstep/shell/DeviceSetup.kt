package app.doorstep.shell

import app.doorstep.core.DeviceKeyHolder
import app.doorstep.core.DeviceStore
import app.doorstep.core.DiscountKeyFailure
import app.doorstep.core.DoorstepException
import app.doorstep.core.Enrolment
import app.doorstep.core.HttpTransport
import app.doorstep.core.SyncService
import app.doorstep.core.SyncSettings
import app.doorstep.core.SyncTiming
import app.doorstep.core.Syncer
import app.doorstep.core.enrolDevice
import app.doorstep.core.enrolDeviceWithCode
import app.doorstep.core.readEnrolmentLink

/**
 * Where the shell keeps the enrolment, token included. The Android app backs
 * it with the Keystore (EncryptedSharedPreferences), iOS with the Keychain;
 * never the store file, which may be copied for support.
 */
interface EnrolmentVault {
    fun load(): Enrolment?
    fun save(enrolment: Enrolment)
    fun clear()
}

/** A vault in memory (tests, demos). */
class InMemoryEnrolmentVault(private var held: Enrolment? = null) : EnrolmentVault {
    override fun load(): Enrolment? = held
    override fun save(enrolment: Enrolment) {
        held = enrolment
    }
    override fun clear() {
        held = null
    }
}

/**
 * First run and every run after: enrol the phone through the server (a
 * dispatcher signs in on it at handover, or the center's one-time code),
 * then open its store and its
 * sync (the loop, or a one-shot syncer) from what the vault holds.
 *
 * With a [deviceKey] (the platform keystore's: Android Keystore, a key file
 * on the desktop) enrolment registers its public half (enrolment version
 * 2) and every store opened signs the customers' sign-offs with it, which
 * the center verifies; without one the phone enrols as version 1 and its
 * sign-offs are marked unsigned.
 *
 * With a [discountKey] (Android Keystore, a file on the desktop) the
 * discount secret enrolment issues is imported into it at once and dropped
 * from the enrolment (neither the vault nor the caller ever holds it), and
 * every store opened checks the center's offline discount codes with it
 * (STANDARDS §2.12); without one, or from a server that issues no secret,
 * a discount is approved online only.
 */
class DeviceSetup(
    private val vault: EnrolmentVault,
    private val storePath: String,
    private val transport: HttpTransport = UrlConnectionTransport(),
    private val deviceKey: DeviceKeyHolder? = null,
    private val discountKey: DiscountKeyVault? = null,
) {
    /** Whether this phone has been enrolled. */
    val enrolled: Boolean get() = vault.load() != null

    /**
     * Enrols through [serverUrl] as [dispatcher]; on success the enrolment is
     * in the vault and the store exists. Blocking: call it off the UI thread.
     */
    fun enrol(
        serverUrl: String,
        dispatcher: String,
        password: String,
        technicianId: String,
        deviceId: String,
    ): CoreResult<Enrolment> = CoreResult.of {
        val enrolment = keepDiscountSecret(enrolDevice(transport, serverUrl, dispatcher, password, technicianId, deviceId, deviceKey))
        // Create the store now so a wrong path fails here, not on first use.
        createStore(enrolment)
        vault.save(enrolment)
        enrolment
    }

    /**
     * Enrols with the center's one-time code: [codeOrLink] is the scanned QR
     * link (`doorstep://enrol?server=…&code=…`, which names the server) or
     * the code as typed, sent to [serverUrl]. On success the enrolment is in
     * the vault and the store exists. Blocking: call it off the UI thread.
     */
    fun enrolWithCode(codeOrLink: String, serverUrl: String): CoreResult<Enrolment> = CoreResult.of {
        val enrolment = keepDiscountSecret(
            if (codeOrLink.trim().startsWith("doorstep://")) {
                val link = readEnrolmentLink(codeOrLink.trim())
                enrolDeviceWithCode(transport, link.serverUrl, link.code, deviceKey)
            } else {
                enrolDeviceWithCode(transport, serverUrl, codeOrLink, deviceKey)
            },
        )
        createStore(enrolment)
        vault.save(enrolment)
        enrolment
    }

    /** The enrolled phone's store; null before enrolment. */
    fun openStore(): DeviceStore? = vault.load()?.let(::openStoreFor)

    /** A syncer for [store] with the vault's server and token; null before enrolment. */
    fun syncer(store: DeviceStore, timeoutSeconds: UInt = 30u): Syncer? = vault.load()?.let {
        Syncer(store, SyncSettings(it.serverUrl, it.deviceToken, timeoutSeconds), transport)
    }

    /**
     * The sync loop for [store] with the vault's server and token (the core's
     * default timing unless [timing] is given); null before enrolment.
     */
    fun syncService(store: DeviceStore, timeoutSeconds: UInt = 30u, timing: SyncTiming? = null): SyncService? =
        vault.load()?.let {
            val settings = SyncSettings(it.serverUrl, it.deviceToken, timeoutSeconds)
            if (timing == null) SyncService(store, settings, transport) else SyncService.withTiming(store, settings, transport, timing)
        }

    /**
     * Imports [e]'s discount secret into [discountKey] (or forgets the one
     * an earlier enrolment left, when this one issued none) and returns the
     * enrolment without it. A keystore that refuses the import fails the
     * enrolment: enrol again once the keystore works.
     */
    private fun keepDiscountSecret(e: Enrolment): Enrolment {
        val key = discountKey ?: return e.copy(discountSecret = null)
        try {
            val secret = e.discountSecret
            if (secret != null) key.keep(secret) else key.forget()
        } catch (failure: DiscountKeyFailure) {
            val reason = when (failure) {
                is DiscountKeyFailure.Keystore -> failure.reason
            }
            throw DoorstepException.InvalidInput(
                "discount_key_unavailable",
                "The phone's key store would not keep the discount secret ($reason); enrol again.",
                "本机的密钥库无法保存折扣密钥（$reason）：请重新登记。",
            )
        }
        return e.copy(discountSecret = null)
    }

    /**
     * Creates [e]'s store and pins the server's playbook key in it, so the
     * store keeps only the company playbooks the server signed.
     */
    private fun createStore(e: Enrolment) =
        openStoreFor(e).use { store ->
            e.playbookKey?.let(store::trustPlaybookKey)
            store.closeStore()
        }

    private fun openStoreFor(e: Enrolment) =
        DeviceStore.open(storePath, e.deviceId, e.technicianId, e.technicianName).also { store ->
            deviceKey?.let(store::useDeviceKey)
            discountKey?.takeIf { it.held() }?.let(store::useDiscountKey)
        }
}
