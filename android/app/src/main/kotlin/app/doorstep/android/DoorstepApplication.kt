package app.doorstep.android

import android.app.Application
import android.content.pm.ApplicationInfo
import android.util.Log
import app.doorstep.core.DeviceStore
import app.doorstep.core.LogLevel
import app.doorstep.core.SyncService
import app.doorstep.shell.CoreLog
import app.doorstep.shell.DeviceSetup

/**
 * Owns what lives as long as the process: the core's log forwarded to
 * Logcat, the Keystore enrolment vault, device key and discount secret, the shell's
 * [DeviceSetup] over them and the store file, the one [SyncService] (the screens' loop and
 * WorkManager's wake-ups share it, so their syncs never overlap) and the
 * periodic background sync. The screens' store is opened per screen session
 * by [VisitViewModel].
 */
class DoorstepApplication : Application() {
    lateinit var setup: DeviceSetup
        private set

    override fun onCreate() {
        super.onCreate()
        val debuggable = (applicationInfo.flags and ApplicationInfo.FLAG_DEBUGGABLE) != 0
        // Fails only if something else owns the core's log facade: the app still works.
        runCatching {
            CoreLog.install(if (debuggable) LogLevel.DEBUG else LogLevel.INFO) { record ->
                Log.println(priority(record.level), TAG, "${record.target}: ${record.message}")
            }
        }.onFailure { Log.w(TAG, "core log not forwarded", it) }
        setup = DeviceSetup(
            KeystoreEnrolmentVault(this),
            filesDir.resolve("doorstep.db").path,
            deviceKey = AndroidKeystoreDeviceKey(),
            discountKey = AndroidKeystoreDiscountKey(),
        )
        // Kept if already scheduled; before enrolment the worker has nothing to do.
        SyncWork.schedulePeriodic(this)
    }

    private var syncStore: DeviceStore? = null
    private var sync: SyncService? = null

    /** The process's sync service over its own handle on the store; null before enrolment. */
    @Synchronized
    fun syncService(): SyncService? {
        sync?.let { return it }
        val store = setup.openStore() ?: return null
        val service = setup.syncService(store)
        if (service == null) {
            store.close()
            return null
        }
        syncStore = store
        sync = service
        return service
    }

    companion object {
        const val TAG = "Doorstep"

        fun priority(level: LogLevel): Int = when (level) {
            LogLevel.ERROR -> Log.ERROR
            LogLevel.WARN -> Log.WARN
            LogLevel.INFO -> Log.INFO
            LogLevel.DEBUG -> Log.DEBUG
            LogLevel.TRACE -> Log.VERBOSE
        }
    }
}
