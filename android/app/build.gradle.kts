plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
    id("org.jetbrains.kotlin.plugin.compose")
}

android {
    namespace = "app.doorstep.android"
    compileSdk = 35

    defaultConfig {
        applicationId = "app.doorstep.android"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
    }

    sourceSets["main"].apply {
        // The generated bindings and the shell's non-UI logic, shared with
        // the Maven-built core-jvm module that is tested on the JVM.
        kotlin.srcDir("../core-jvm/src/main/kotlin")
        // The technician screens: the same composables the Maven module
        // technician-ui compiles for the desktop and tests headless. Only
        // its src/main is shared; its desktop window (src/desktop) is not.
        kotlin.srcDir("../technician-ui/src/main/kotlin")
        // libdoorstep_ffi.so per ABI, built with cargo-ndk (README.md).
        jniLibs.srcDir("src/main/jniLibs")
    }

    buildFeatures { compose = true }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
}

dependencies {
    implementation("net.java.dev.jna:jna:5.15.0@aar")
    implementation(platform("androidx.compose:compose-bom:2024.12.01"))
    implementation("androidx.compose.ui:ui")
    implementation("androidx.compose.material3:material3")
    implementation("androidx.activity:activity-compose:1.9.3")
    // The activity-result API used directly: TakePicture for evidence photos and
    // RequestPermission for the camera (SystemCameraApp, CameraPermission).
    implementation("androidx.activity:activity-ktx:1.9.3")
    // EXIF orientation of the camera app's JPEG, which BitmapFactory ignores (CameraPhotoDecoder).
    implementation("androidx.exifinterface:exifinterface:1.3.7")
    // The enrolment QR scanner (EnrolmentQrScanner): zxing-android-embedded's capture
    // activity and its ScanContract, rather than CameraX + ML Kit, because
    //  - it needs no Google Play services (ML Kit's small unbundled model does, and many
    //    phones sold in China have none) and ships no ML model (the bundled one adds MBs);
    //  - it decodes with the zxing core already here for the payment QR code;
    //  - it is a ready activity with its own preview, behind an ActivityResultContract:
    //    one launcher, no camera pipeline of ours for a code scanned once per phone.
    // From Maven Central; Gradle resolves its zxing core to the 3.5.3 below.
    implementation("com.journeyapps:zxing-android-embedded:4.3.0")
    // The payment QR code's matrix (QrPaymentPanel.kt, shared with the desktop build).
    implementation("com.google.zxing:core:3.5.3")
    // ContextCompat and LocationManagerCompat.getCurrentLocation (AndroidServices.kt).
    implementation("androidx.core:core-ktx:1.15.0")
    implementation("androidx.lifecycle:lifecycle-viewmodel-compose:2.8.7")
    // viewModelScope, and Dispatchers.Main/IO for enrolment off the UI thread.
    implementation("androidx.lifecycle:lifecycle-viewmodel-ktx:2.8.7")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.9.0")
    // Background sync: a periodic and an expedited CoroutineWorker wake the
    // core's sync loop (SyncWork.kt); the foreground signal for the loop.
    implementation("androidx.work:work-runtime-ktx:2.10.0")
    implementation("androidx.lifecycle:lifecycle-process:2.8.7")
    // The enrolment vault: EncryptedSharedPreferences under a Keystore MasterKey
    // (KeystoreEnrolmentVault). 1.1.0-alpha06 is the last release before the
    // library's deprecation; its MasterKey.Builder API is what the vault uses.
    implementation("androidx.security:security-crypto:1.1.0-alpha06")
}
