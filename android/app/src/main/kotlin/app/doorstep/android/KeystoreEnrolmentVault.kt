package app.doorstep.android

import android.content.Context
import android.content.SharedPreferences
import androidx.security.crypto.EncryptedSharedPreferences
import androidx.security.crypto.MasterKey
import app.doorstep.core.Enrolment
import app.doorstep.shell.EnrolmentVault
import java.io.IOException

/**
 * Owns where the phone's enrolment (server, ids, device token) lives on
 * Android: EncryptedSharedPreferences under an AES-256-GCM master key held
 * by the Android Keystore. Never the store file (which support may copy),
 * never a backup (the manifest turns backup off: the key does not travel).
 *
 * `androidx.security:security-crypto` is deprecated upstream (1.1.0-alpha07
 * on) but still works; moving to a KeyGenerator-held key of our own is a
 * change of this class alone.
 */
class KeystoreEnrolmentVault(context: Context) : EnrolmentVault {
    private val app = context.applicationContext

    // Created on first use: the Keystore round-trip is not free.
    private val prefs: SharedPreferences by lazy {
        val key = MasterKey.Builder(app)
            .setKeyScheme(MasterKey.KeyScheme.AES256_GCM)
            .build()
        EncryptedSharedPreferences.create(
            app,
            FILE,
            key,
            EncryptedSharedPreferences.PrefKeyEncryptionScheme.AES256_SIV,
            EncryptedSharedPreferences.PrefValueEncryptionScheme.AES256_GCM,
        )
    }

    override fun load(): Enrolment? {
        val p = prefs
        return Enrolment(
            serverUrl = p.getString(SERVER_URL, null) ?: return null,
            deviceId = p.getString(DEVICE_ID, null) ?: return null,
            technicianId = p.getString(TECHNICIAN_ID, null) ?: return null,
            technicianName = p.getString(TECHNICIAN_NAME, null) ?: return null,
            deviceToken = p.getString(DEVICE_TOKEN, null) ?: return null,
        )
    }

    /** Written synchronously (enrolment runs off the UI thread): a failed write is an error, not a lost token. */
    override fun save(enrolment: Enrolment) {
        val ok = prefs.edit()
            .putString(SERVER_URL, enrolment.serverUrl)
            .putString(DEVICE_ID, enrolment.deviceId)
            .putString(TECHNICIAN_ID, enrolment.technicianId)
            .putString(TECHNICIAN_NAME, enrolment.technicianName)
            .putString(DEVICE_TOKEN, enrolment.deviceToken)
            .commit()
        if (!ok) throw IOException("the enrolment could not be written")
    }

    override fun clear() {
        prefs.edit().clear().commit()
    }

    private companion object {
        const val FILE = "doorstep_enrolment"
        const val SERVER_URL = "server_url"
        const val DEVICE_ID = "device_id"
        const val TECHNICIAN_ID = "technician_id"
        const val TECHNICIAN_NAME = "technician_name"
        const val DEVICE_TOKEN = "device_token"
    }
}
