package app.doorstep.android

import android.app.NotificationChannel
import android.app.NotificationManager
import android.content.Context
import android.content.pm.ServiceInfo
import android.os.Build
import androidx.core.app.NotificationCompat
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.ForegroundInfo
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.OutOfQuotaPolicy
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import app.doorstep.core.DoorstepException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import java.util.concurrent.TimeUnit

/**
 * Background sync through WorkManager: a periodic request every 15 minutes
 * (WorkManager's minimum) while the phone has a network, and an expedited
 * one-time request on "sync now". Both run [SyncWorker], which calls the
 * core's `background_wake()`: one sync to completion (joining the loop's
 * sync when the screens are up in this process). When and how often to
 * retry inside the app stays the core loop's; WorkManager only wakes it.
 */
object SyncWork {
    private const val PERIODIC = "doorstep-sync-periodic"
    private const val NOW = "doorstep-sync-now"

    private val connected = Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build()

    /** Schedules the periodic wake-up; kept if already scheduled (call at every start). */
    fun schedulePeriodic(context: Context) {
        val request = PeriodicWorkRequestBuilder<SyncWorker>(15, TimeUnit.MINUTES)
            .setConstraints(connected)
            .build()
        WorkManager.getInstance(context).enqueueUniquePeriodicWork(PERIODIC, ExistingPeriodicWorkPolicy.KEEP, request)
    }

    /** An expedited sync now; a request already waiting covers a burst of taps. */
    fun syncNow(context: Context) {
        val request = OneTimeWorkRequestBuilder<SyncWorker>()
            .setExpedited(OutOfQuotaPolicy.RUN_AS_NON_EXPEDITED_WORK_REQUEST)
            .setConstraints(connected)
            .build()
        WorkManager.getInstance(context).enqueueUniqueWork(NOW, ExistingWorkPolicy.KEEP, request)
    }
}

/** One background sync: the core's `background_wake()` on the application's sync service. */
class SyncWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    override suspend fun doWork(): Result = withContext(Dispatchers.IO) {
        // Not enrolled yet: nothing to sync.
        val service = (applicationContext as DoorstepApplication).syncService() ?: return@withContext Result.success()
        try {
            service.backgroundWake()
            Result.success()
        } catch (e: DoorstepException.Sync) {
            // A retry may cure it (no network, server busy): WorkManager backs off and runs it again.
            if (e.transient) Result.retry() else Result.failure()
        } catch (e: DoorstepException) {
            Result.failure()
        }
    }

    /** Expedited work on Android 11 and older runs as a foreground service: its notification. */
    override suspend fun getForegroundInfo(): ForegroundInfo {
        val manager = applicationContext.getSystemService(NotificationManager::class.java)
        val title = applicationContext.getString(R.string.sync_notification)
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.O) {
            manager.createNotificationChannel(NotificationChannel(CHANNEL, title, NotificationManager.IMPORTANCE_LOW))
        }
        val notification = NotificationCompat.Builder(applicationContext, CHANNEL)
            .setSmallIcon(android.R.drawable.stat_notify_sync)
            .setContentTitle(title)
            .setOngoing(true)
            .build()
        return if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.Q) {
            ForegroundInfo(NOTIFICATION_ID, notification, ServiceInfo.FOREGROUND_SERVICE_TYPE_DATA_SYNC)
        } else {
            ForegroundInfo(NOTIFICATION_ID, notification)
        }
    }

    private companion object {
        const val CHANNEL = "doorstep-sync"
        const val NOTIFICATION_ID = 7301
    }
}
