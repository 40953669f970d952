package app.doorstep.android

import android.security.keystore.KeyProperties
import android.security.keystore.KeyProtection
import app.doorstep.core.DiscountKeyFailure
import app.doorstep.shell.DiscountKeyVault
import app.doorstep.shell.discountSecretBytes
import java.security.KeyStore
import javax.crypto.Mac
import javax.crypto.SecretKey
import javax.crypto.spec.SecretKeySpec

/**
 * The phone's discount secret in the Android Keystore (STANDARDS §2.12: the
 * center's offline discount codes are checked under it). Enrolment's 32
 * bytes are imported once under [alias] as an HMAC-SHA256 key for signing
 * only, not exportable afterwards; the core's checks get
 * `Mac.getInstance("HmacSHA256")` over the Keystore key, so the secret never
 * leaves the Keystore again (`core/src/discount_approval.rs`). Not compiled
 * on the build machine (no Android SDK there); the JVM's `FileDiscountKey`
 * implements the same interface and is what the tests run.
 */
class AndroidKeystoreDiscountKey(private val alias: String = "doorstep-discount-key") : DiscountKeyVault {
    private fun keystore(): KeyStore = KeyStore.getInstance("AndroidKeyStore").apply { load(null) }

    override fun keep(secretHex: String) = guarded {
        val secret = SecretKeySpec(discountSecretBytes(secretHex), KeyProperties.KEY_ALGORITHM_HMAC_SHA256)
        keystore().setEntry(
            alias,
            KeyStore.SecretKeyEntry(secret),
            KeyProtection.Builder(KeyProperties.PURPOSE_SIGN).build(),
        )
    }

    override fun held(): Boolean = guarded { keystore().containsAlias(alias) }

    override fun forget() = guarded {
        val ks = keystore()
        if (ks.containsAlias(alias)) ks.deleteEntry(alias)
    }

    override fun mac(message: ByteArray): ByteArray = guarded {
        val key = keystore().getKey(alias, null) as? SecretKey
            ?: throw DiscountKeyFailure.Keystore("Android Keystore ($alias): no discount secret kept")
        Mac.getInstance("HmacSHA256").run {
            init(key)
            doFinal(message)
        }
    }

    private fun <T> guarded(block: () -> T): T = try {
        block()
    } catch (e: DiscountKeyFailure) {
        throw e
    } catch (e: Exception) {
        throw DiscountKeyFailure.Keystore("Android Keystore ($alias): ${e.message ?: e.javaClass.simpleName}")
    }
}
