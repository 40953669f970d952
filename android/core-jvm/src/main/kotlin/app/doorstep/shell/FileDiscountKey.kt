package app.doorstep.shell

import app.doorstep.core.DiscountKeyFailure
import java.io.File
import java.nio.file.Files
import java.nio.file.StandardCopyOption
import java.nio.file.attribute.PosixFilePermissions
import javax.crypto.Mac
import javax.crypto.spec.SecretKeySpec

/**
 * The phone's discount secret kept in a file beside the store: what the
 * desktop build and the JVM tests hold (the Android app keeps it in the
 * Keystore, `AndroidKeystoreDiscountKey`; iOS in the Keychain). The 32
 * secret bytes, readable by the owner only (0600 from creation where the
 * file system has POSIX permissions), replaced atomically. Answers the
 * core's checks with "HmacSHA256" over the secret, as the center computes
 * its short codes (`core/src/discount_approval.rs`).
 */
class FileDiscountKey(private val file: File) : DiscountKeyVault {
    override fun mac(message: ByteArray): ByteArray = keystore {
        if (!file.exists()) throw DiscountKeyFailure.Keystore("${file.path}: no discount secret kept")
        Mac.getInstance("HmacSHA256").run {
            init(SecretKeySpec(file.readBytes(), "HmacSHA256"))
            doFinal(message)
        }
    }

    override fun keep(secretHex: String) = keystore {
        val secret = discountSecretBytes(secretHex)
        file.parentFile?.mkdirs()
        val written = File(file.path + ".new").toPath()
        Files.deleteIfExists(written)
        try {
            Files.createFile(written, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))
        } catch (e: UnsupportedOperationException) {
            Files.createFile(written)
        }
        Files.write(written, secret)
        Files.move(written, file.toPath(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE)
        Unit
    }

    override fun held(): Boolean = file.exists()

    override fun forget() = keystore {
        Files.deleteIfExists(file.toPath())
        Unit
    }

    private fun <T> keystore(block: () -> T): T = try {
        block()
    } catch (e: DiscountKeyFailure) {
        throw e
    } catch (e: Exception) {
        throw DiscountKeyFailure.Keystore("${file.path}: ${e.message ?: e.javaClass.simpleName}")
    }
}
