// The Android build (Gradle Kotlin DSL). The plain-JVM module `core-jvm` is
// built with Maven (it is what runs here, against the host library); the app
// compiles the same Kotlin sources directly. Not buildable on this project's
// machines (no Android SDK): see README.md.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "doorstep-android"
include(":app")
