//! Online backup and restore of the embedded SQLite database
//! (`doorstep-server backup --to FILE`, `doorstep-server restore --from FILE
//! --data-dir DIR`); PostgreSQL is backed up with `pg_dump` (docs/OPERATIONS.md).
//!
//! The backup is `VACUUM INTO`: one read transaction, so the copy is the
//! database as of one commit while the server keeps taking pushes (WAL lets
//! the writer go on). It is written beside the target, checked
//! (`integrity_check`), synced and only then renamed into place.
//!
//! The restore refuses a backup from a newer schema than this binary knows
//! and a data directory that already holds a database. It moves the change
//! sequence (`assignment_changes.seq`) forward by [`SEQUENCE_JUMP`]: the
//! phones may hold pull cursors past the backup's last change (changes made
//! after the backup was taken), and the next change must still be above
//! every one of them or those phones would never pull it. Events pushed
//! after the backup come back by themselves: the server answers the next
//! push with `sequence_gap` and the phone sends its acknowledged entries
//! again (API.md, "Push").

use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// How far a restore moves the change sequence forward: more changes than
/// any center makes between a backup and its restore.
pub const SEQUENCE_JUMP: i64 = 1_000_000_000;

/// The database file's name inside a data directory.
pub const DATABASE_FILE: &str = "doorstep.db";

/// A refused backup or restore (both languages in one text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupError(pub String);

impl std::fmt::Display for BackupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BackupError {}

impl From<rusqlite::Error> for BackupError {
    fn from(e: rusqlite::Error) -> Self {
        BackupError(format!("SQLite: {e} / SQLite 错误：{e}"))
    }
}

/// What a backup or restore wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub path: PathBuf,
    pub schema_version: i64,
    pub bytes: u64,
    pub events: i64,
}

/// Copies the live database at `database` into the new file `to`.
/// `known_schema` is the newest schema version this binary knows.
pub fn backup(database: &Path, to: &Path, known_schema: i64) -> Result<Copied, BackupError> {
    if to.exists() {
        return Err(BackupError(format!(
            "{to} already exists: choose a new file name (a backup never overwrites) / {to} 已存在：请换一个文件名（备份不会覆盖已有文件）",
            to = to.display()
        )));
    }
    if !database.is_file() {
        return Err(BackupError(format!(
            "no database at {db}: give --data-dir of the running server / {db} 处没有数据库：请用 --data-dir 指定运行中服务器的数据目录",
            db = database.display()
        )));
    }
    let source = Connection::open_with_flags(
        database,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    source.busy_timeout(std::time::Duration::from_secs(30))?;
    let version = schema_version(&source)?;
    refuse_newer(version, known_schema, database)?;
    let partial = partial_path(to);
    let _ = std::fs::remove_file(&partial);
    source.execute("VACUUM INTO ?1", [partial.to_string_lossy().as_ref()])?;
    drop(source);
    let copied = check_and_sync(&partial)?;
    std::fs::rename(&partial, to).map_err(|e| io_error(to, e))?;
    sync_dir(to);
    Ok(Copied {
        path: to.to_path_buf(),
        ..copied
    })
}

/// Restores the backup `from` as the database of the empty data directory
/// `data_dir` (created if missing).
pub fn restore(from: &Path, data_dir: &Path, known_schema: i64) -> Result<Copied, BackupError> {
    if !from.is_file() {
        return Err(BackupError(format!(
            "no backup file at {from} / 找不到备份文件 {from}",
            from = from.display()
        )));
    }
    {
        let backup = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| not_a_backup(from, e))?;
        let version = schema_version(&backup).map_err(|e| not_a_backup(from, e))?;
        if version > known_schema {
            return Err(BackupError(format!(
                "the backup {from} has schema version {version}, newer than this doorstep-server knows ({known_schema}): restore it with the doorstep-server that made it, or a newer one / 备份 {from} 的数据库结构版本为 {version}，比本程序支持的版本（{known_schema}）新：请用生成该备份的 doorstep-server 或更新版本恢复",
                from = from.display()
            )));
        }
    }
    let target = data_dir.join(DATABASE_FILE);
    if target.exists() {
        return Err(BackupError(format!(
            "{target} already exists: restore into an empty data directory (move the old one aside first) / {target} 已存在：请恢复到空的数据目录（先把旧目录移开）",
            target = target.display()
        )));
    }
    std::fs::create_dir_all(data_dir).map_err(|e| io_error(data_dir, e))?;
    let partial = partial_path(&target);
    std::fs::copy(from, &partial).map_err(|e| io_error(&partial, e))?;
    {
        let conn = Connection::open(&partial)?;
        move_change_sequence_forward(&conn)?;
    }
    let copied = check_and_sync(&partial)?;
    std::fs::rename(&partial, &target).map_err(|e| io_error(&target, e))?;
    sync_dir(&target);
    Ok(Copied {
        path: target,
        ..copied
    })
}

/// Raises the next `assignment_changes.seq` by [`SEQUENCE_JUMP`] (see the
/// module doc).
fn move_change_sequence_forward(conn: &Connection) -> Result<(), BackupError> {
    let last: i64 = conn.query_row(
        "SELECT COALESCE(MAX(seq), 0) FROM assignment_changes",
        [],
        |r| r.get(0),
    )?;
    let next_floor = last + SEQUENCE_JUMP;
    let updated = conn.execute(
        "UPDATE sqlite_sequence SET seq = MAX(seq, ?1) WHERE name = 'assignment_changes'",
        [next_floor],
    )?;
    if updated == 0 {
        conn.execute(
            "INSERT INTO sqlite_sequence (name, seq) VALUES ('assignment_changes', ?1)",
            [next_floor],
        )?;
    }
    Ok(())
}

fn schema_version(conn: &Connection) -> Result<i64, rusqlite::Error> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

fn refuse_newer(version: i64, known: i64, path: &Path) -> Result<(), BackupError> {
    if version > known {
        return Err(BackupError(format!(
            "{path} has schema version {version}, newer than this doorstep-server knows ({known}) / {path} 的数据库结构版本为 {version}，比本程序支持的版本（{known}）新",
            path = path.display()
        )));
    }
    Ok(())
}

/// Checks the copy at `path` and syncs it to disk.
fn check_and_sync(path: &Path) -> Result<Copied, BackupError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if check != "ok" {
        let _ = std::fs::remove_file(path);
        return Err(BackupError(format!(
            "the copy failed SQLite's integrity check ({check}); nothing was kept / 副本未通过 SQLite 完整性检查（{check}）；未保留任何文件"
        )));
    }
    let schema_version = schema_version(&conn)?;
    let events: i64 = conn.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?;
    drop(conn);
    let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    file.sync_all().map_err(|e| io_error(path, e))?;
    let bytes = file.metadata().map_err(|e| io_error(path, e))?.len();
    Ok(Copied {
        path: path.to_path_buf(),
        schema_version,
        bytes,
        events,
    })
}

fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

/// Syncs the directory holding `path` so the rename survives a power cut.
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

fn io_error(path: &Path, e: std::io::Error) -> BackupError {
    BackupError(format!("{path}: {e} / {path}：{e}", path = path.display()))
}

fn not_a_backup(path: &Path, e: rusqlite::Error) -> BackupError {
    BackupError(format!(
        "{path} is not a Doorstep SQLite backup ({e}) / {path} 不是 Doorstep 的 SQLite 备份（{e}）",
        path = path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(label: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "doorstep-backup-{label}-{}",
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn database(dir: &Path, version: i64) -> PathBuf {
        let path = dir.join(DATABASE_FILE);
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "CREATE TABLE events (id INTEGER PRIMARY KEY);
             CREATE TABLE assignment_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT);
             INSERT INTO events DEFAULT VALUES;
             INSERT INTO assignment_changes (kind) VALUES ('a'), ('b');
             PRAGMA user_version = {version};"
        ))
        .unwrap();
        path
    }

    #[test]
    fn a_restore_refuses_a_backup_of_a_newer_schema_naming_both_versions() {
        let dir = scratch("newer");
        let db = database(&dir, 9);
        let err = restore(&db, &dir.join("restored"), 6).unwrap_err().0;
        assert!(err.contains("schema version 9"), "{err}");
        assert!(err.contains("(6)"), "{err}");
        assert!(err.contains("结构版本为 9"), "{err}");
        assert!(!dir.join("restored").join(DATABASE_FILE).exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_restore_moves_the_next_change_past_every_cursor_a_phone_can_hold() {
        let dir = scratch("jump");
        let db = database(&dir, 6);
        let backup_file = dir.join("b.db");
        backup(&db, &backup_file, 6).unwrap();
        let restored = restore(&backup_file, &dir.join("restored"), 6).unwrap();
        let conn = Connection::open(&restored.path).unwrap();
        conn.execute("INSERT INTO assignment_changes (kind) VALUES ('c')", [])
            .unwrap();
        let seq: i64 = conn
            .query_row("SELECT MAX(seq) FROM assignment_changes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(seq, 2 + SEQUENCE_JUMP + 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_restore_refuses_a_data_directory_that_holds_a_database() {
        let dir = scratch("occupied");
        let db = database(&dir, 6);
        let backup_file = dir.join("b.db");
        backup(&db, &backup_file, 6).unwrap();
        let err = restore(&backup_file, &dir, 6).unwrap_err().0;
        assert!(err.contains("already exists"), "{err}");
        assert!(err.contains("空的数据目录"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_backup_never_overwrites_a_file() {
        let dir = scratch("overwrite");
        let db = database(&dir, 6);
        let err = backup(&db, &db, 6).unwrap_err().0;
        assert!(err.contains("never overwrites"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
