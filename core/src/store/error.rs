//! The store's errors: what went wrong with the local database, in terms a
//! shell can act on, each with a stable machine-readable `code()`.
//!
//! SQLite and JSON failures are classified here (corrupt file, full disk,
//! read-only file, schema from a newer app...) so callers never match on
//! SQLite result codes. `text()` gives the message in English and Chinese. No customer data goes into these strings: JSON
//! errors keep only their category and position, never the offending text.

use crate::ids::{AssignmentId, VisitId};
use crate::messages::Text;
use crate::workflow::WorkflowError;
use rusqlite::ErrorCode;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The workflow refused the command; nothing was written.
    #[error(transparent)]
    Workflow(#[from] WorkflowError),

    /// The file is not an SQLite database (wrong header or garbage).
    #[error("the store file is not a database (expected an SQLite 3 file written by Doorstep); it was left untouched: keep it for support and do not delete it while it may hold unsynced work")]
    NotADatabase,

    /// The file is shorter than its own header says: it was cut off.
    #[error("the store file is truncated: its header promises {expected_bytes} bytes but it holds {actual_bytes}; it was left untouched: restore it or keep it for support")]
    Truncated {
        expected_bytes: u64,
        actual_bytes: u64,
    },

    /// SQLite found damaged pages.
    #[error("the store file is damaged ({detail}); it was left untouched: keep it for support and do not delete it while it may hold unsynced work")]
    Corrupt { detail: String },

    /// A database written by a newer version of the app.
    #[error("the store was written by a newer app (schema version {found}; this app reads up to {supported}): update the app; the file was left untouched")]
    SchemaTooNew { found: i64, supported: i64 },

    /// A valid SQLite database that is not a Doorstep store.
    #[error("the file is an SQLite database but not a Doorstep store (application id {application_id:#x}, schema version {user_version}); open a Doorstep store file or a new path")]
    ForeignDatabase {
        application_id: i64,
        user_version: i64,
    },

    /// The file or its directory cannot be written.
    #[error("the store file is read-only: make the file and its directory writable (the store needs write access to record work)")]
    ReadOnly,

    /// The disk (or the store's size limit) is full; the transaction was rolled back.
    #[error("the disk is full: the last change was not recorded (nothing was half-written); free some space and try again")]
    DiskFull,

    /// The photo blob area is at its configured bound: the photo was not
    /// stored (nothing half-written) and nothing refers to it.
    #[error("photo storage is full ({used_bytes} of {limit_bytes} bytes used, this photo needs {needed_bytes}): the photo was not stored; sync to upload and free the photos already taken, then take it again")]
    BlobAreaFull {
        used_bytes: u64,
        limit_bytes: u64,
        needed_bytes: u64,
    },

    /// Another process holds the database lock for too long.
    #[error("the store is busy (another process holds its lock); try again")]
    Busy,

    /// The file could not be opened at all (missing directory, permissions).
    #[error("the store file cannot be opened ({detail}); check the path and its directory")]
    CannotOpen { detail: String },

    /// The store belongs to another enrolled device.
    #[error("this store belongs to device {stored}, not {given}: open the store of this device or enrol again on a new path")]
    DeviceMismatch { stored: String, given: String },

    /// No visit with this id in the store.
    #[error("no visit {0} in the store")]
    UnknownVisit(VisitId),

    /// No visit for this assignment in the store.
    #[error("no visit for assignment {0} in the store")]
    UnknownAssignment(AssignmentId),

    /// The visit's trade has no playbook in this app.
    #[error("no playbook for trade {0:?} in this app: update the app")]
    UnknownTrade(String),

    /// The visit started with a version of its trade's playbook this phone
    /// no longer holds (or never verified).
    #[error("the visit walks playbook {trade} version {version}, which this phone does not hold")]
    UnknownPlaybookVersion { trade: String, version: i64 },

    /// An outbox sequence number that is not in the outbox.
    #[error("outbox entry {0} does not exist")]
    UnknownOutboxEntry(i64),

    /// Stored JSON that does not decode (a bug or a damaged row).
    #[error("a stored {what} does not decode ({category} at line {line}, column {column})")]
    StoredDataInvalid {
        what: &'static str,
        category: &'static str,
        line: usize,
        column: usize,
    },

    /// Any other SQLite failure.
    #[error("database error: {0}")]
    Sqlite(String),

    /// A file-system failure outside SQLite (reading the header, permissions).
    #[error("file error: {0}")]
    Io(String),
}

impl StoreError {
    /// A stable code for shells and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Workflow(w) => w.code(),
            Self::NotADatabase => "store_not_a_database",
            Self::Truncated { .. } => "store_truncated",
            Self::Corrupt { .. } => "store_corrupt",
            Self::SchemaTooNew { .. } => "store_schema_too_new",
            Self::ForeignDatabase { .. } => "store_foreign_database",
            Self::ReadOnly => "store_read_only",
            Self::DiskFull => "store_disk_full",
            Self::Busy => "store_busy",
            Self::BlobAreaFull { .. } => "store_blob_area_full",
            Self::CannotOpen { .. } => "store_cannot_open",
            Self::DeviceMismatch { .. } => "store_device_mismatch",
            Self::UnknownVisit(_) => "store_unknown_visit",
            Self::UnknownAssignment(_) => "store_unknown_assignment",
            Self::UnknownTrade(_) => "store_unknown_trade",
            Self::UnknownPlaybookVersion { .. } => "store_unknown_playbook_version",
            Self::UnknownOutboxEntry(_) => "store_unknown_outbox_entry",
            Self::StoredDataInvalid { .. } => "store_data_invalid",
            Self::Sqlite(_) => "store_sqlite",
            Self::Io(_) => "store_io",
        }
    }

    /// The message for a shell, in English and Simplified Chinese.
    pub fn text(&self) -> Text {
        let zh = match self {
            Self::Workflow(w) => return w.text(),
            Self::NotADatabase => "本地数据文件不是数据库；文件未被改动，请保留以便技术支持，不要删除（可能含未同步的记录）".to_string(),
            Self::Truncated { expected_bytes, actual_bytes } => format!(
                "本地数据文件不完整（应有 {expected_bytes} 字节，实际 {actual_bytes} 字节）；文件未被改动，请恢复或保留以便技术支持"
            ),
            Self::Corrupt { .. } => "本地数据文件已损坏；文件未被改动，请保留以便技术支持，不要删除（可能含未同步的记录）".to_string(),
            Self::SchemaTooNew { found, supported } => format!(
                "本地数据由更新版本的应用写入（数据版本 {found}，本应用最高支持 {supported}）；请升级应用，文件未被改动"
            ),
            Self::ForeignDatabase { .. } => "该文件不是到家服务的数据文件；请打开正确的文件或使用新路径".to_string(),
            Self::ReadOnly => "本地数据文件只读；请让文件及其目录可写（记录工作需要写入）".to_string(),
            Self::DiskFull => "存储空间已满：刚才的操作未记录（没有写入一半的数据）；请清理空间后重试".to_string(),
            Self::Busy => "本地数据正被其他进程占用；请重试".to_string(),
            Self::BlobAreaFull { used_bytes, limit_bytes, needed_bytes } => format!(
                "照片存储空间已满（已用 {used_bytes} 字节，上限 {limit_bytes} 字节，本张需要 {needed_bytes} 字节）：照片未保存。请先同步上传已拍照片以释放空间，再重新拍摄。"
            ),
            Self::CannotOpen { .. } => "无法打开本地数据文件；请检查路径和目录".to_string(),
            Self::DeviceMismatch { .. } => "该数据文件属于另一台已登记的设备；请打开本机的数据文件或在新路径重新登记".to_string(),
            Self::UnknownVisit(_) | Self::UnknownAssignment(_) => "本地没有这次上门服务的记录".to_string(),
            Self::UnknownTrade(_) => "本应用没有该服务类别的规范；请升级应用".to_string(),
            Self::UnknownPlaybookVersion { version, .. } => format!(
                "本次服务按第 {version} 版服务规范进行，本机没有该版本；请同步后重试或联系服务中心"
            ),
            Self::UnknownOutboxEntry(_) => "待上传队列中没有该条目".to_string(),
            Self::StoredDataInvalid { .. } => "本地保存的一条数据无法读取；请联系技术支持".to_string(),
            Self::Sqlite(_) | Self::Io(_) => "本地数据读写出错；请重试或联系技术支持".to_string(),
        };
        Text::new(self.to_string(), zh)
    }

    /// Decoding a stored JSON value failed: keep the position, drop the text.
    pub(crate) fn decode(what: &'static str, e: serde_json::Error) -> Self {
        let category = match e.classify() {
            serde_json::error::Category::Io => "io error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected data",
            serde_json::error::Category::Eof => "unexpected end",
        };
        Self::StoredDataInvalid {
            what,
            category,
            line: e.line(),
            column: e.column(),
        }
    }

    /// Encoding our own types to JSON cannot fail in practice; if it ever
    /// does, report it as invalid data rather than panicking.
    pub(crate) fn encode(what: &'static str, e: serde_json::Error) -> Self {
        Self::decode(what, e)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(f, msg) = &e {
            return match f.code {
                ErrorCode::NotADatabase => Self::NotADatabase,
                ErrorCode::DatabaseCorrupt => Self::Corrupt {
                    detail: msg.clone().unwrap_or_else(|| "malformed pages".into()),
                },
                ErrorCode::DiskFull => Self::DiskFull,
                ErrorCode::ReadOnly => Self::ReadOnly,
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => Self::Busy,
                ErrorCode::CannotOpen => Self::CannotOpen {
                    detail: msg.clone().unwrap_or_else(|| "unable to open".into()),
                },
                _ => Self::Sqlite(e.to_string()),
            };
        }
        Self::Sqlite(e.to_string())
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
                Self::ReadOnly
            }
            std::io::ErrorKind::StorageFull => Self::DiskFull,
            _ => Self::Io(e.to_string()),
        }
    }
}

pub(crate) type Result<T> = std::result::Result<T, StoreError>;
