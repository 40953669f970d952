//! Key files on a computer (the CLI, the desktop shell, the tests): a secret
//! written once, readable by its owner only. The phones keep their keys in
//! Android Keystore / the iOS Keychain instead. Used by the device's signing
//! key (`crate::device_key`) and its discount secret
//! (`crate::discount_approval`).

use std::path::Path;

/// Writes a new key file readable by its owner only (on Unix; elsewhere as
/// the platform's default permissions allow); never over an existing file.
pub(crate) fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}
