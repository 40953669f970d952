package app.doorstep.android

import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import app.doorstep.core.DeviceKeyFailure
import app.doorstep.core.DeviceKeyHolder
import java.security.KeyPairGenerator
import java.security.KeyStore
import java.security.PrivateKey
import java.security.Signature
import java.security.spec.ECGenParameterSpec

/**
 * The phone's device key in the Android Keystore: an ECDSA P-256 key made
 * once under [alias], non-exportable (hardware-backed where the phone has
 * it). Its public half (X.509, `getEncoded()`) is registered at enrolment;
 * it signs each sign-off's evidence digest with "SHA256withECDSA" (DER), as
 * the core verifies (`core/src/device_key.rs`). Not compiled on the build
 * machine (no Android SDK there); the JVM's `FileDeviceKey` implements the
 * same trait and is what the tests run.
 */
class AndroidKeystoreDeviceKey(private val alias: String = "doorstep-device-key") : DeviceKeyHolder {
    private fun keystore(): KeyStore = KeyStore.getInstance("AndroidKeyStore").apply { load(null) }

    private fun privateKey(): PrivateKey {
        val ks = keystore()
        if (!ks.containsAlias(alias)) {
            KeyPairGenerator.getInstance(KeyProperties.KEY_ALGORITHM_EC, "AndroidKeyStore").run {
                initialize(
                    KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_SIGN)
                        .setAlgorithmParameterSpec(ECGenParameterSpec("secp256r1"))
                        .setDigests(KeyProperties.DIGEST_SHA256)
                        .build(),
                )
                generateKeyPair()
            }
        }
        return ks.getKey(alias, null) as PrivateKey
    }

    override fun publicKey(): ByteArray = guarded {
        privateKey()
        keystore().getCertificate(alias).publicKey.encoded
    }

    override fun sign(message: ByteArray): ByteArray = guarded {
        Signature.getInstance("SHA256withECDSA").run {
            initSign(privateKey())
            update(message)
            sign()
        }
    }

    private fun <T> guarded(block: () -> T): T = try {
        block()
    } catch (e: Exception) {
        throw DeviceKeyFailure.Keystore("Android Keystore ($alias): ${e.message ?: e.javaClass.simpleName}")
    }
}
