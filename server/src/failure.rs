//! Why an operation of the store or the domain did not happen: a storage
//! failure, or a refusal (a bad field, something missing, a state that does
//! not allow it). It knows nothing of HTTP; the HTTP layer maps each kind to
//! its status and JSON body (`http::error`). Messages never carry customer
//! data, only ids, field paths and limits. The storage failure itself
//! ([`DbError`]) is defined here too, so the store imports this module and
//! not the other way round (the store re-exports it as `store::DbError`).

use serde_json::{Map, Value};

/// A storage failure. Never carries row contents (customer data), only
/// what the database said about the statement.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The server's message and SQLSTATE only: PostgreSQL's `DETAIL` can
    /// quote row values, which must not reach logs.
    #[error("postgres: {message}")]
    Postgres {
        code: Option<String>,
        message: String,
    },
    #[error("postgres pool: {0}")]
    Pool(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("unique constraint violated")]
    Unique,
    /// The database is not one this server can use (from a newer server, or
    /// not a Doorstep database at all). Nothing in it was changed.
    #[error("{0}")]
    Schema(String),
}

/// A failed or refused operation.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The database failed; the caller sees a generic "retry later".
    #[error(transparent)]
    Storage(#[from] DbError),
    /// One input field is wrong; `message` says what would be accepted.
    #[error("{field}: {message}")]
    InvalidField { field: String, message: String },
    /// The thing named does not exist.
    #[error("no {what} with id {id:?}")]
    NotFound { what: &'static str, id: String },
    /// The request meets a state that does not allow it; `code` names the
    /// reason for clients, `details` carries what they need to recover.
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        details: Map<String, Value>,
    },
    /// The caller is not (or no longer) known.
    #[error("{0}")]
    Unauthorized(String),
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Something this server wrote cannot be read back, or an internal step
    /// failed; `context` says what the server was doing.
    #[error("internal failure while {context}")]
    Internal { context: String },
}

/// A result of store and domain code.
pub type Fallible<T> = Result<T, Failure>;

impl Failure {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Failure::InvalidField {
            field: field.to_string(),
            message: message.into(),
        }
    }

    pub fn not_found(what: &'static str, id: &str) -> Self {
        Failure::NotFound {
            what,
            id: id.to_string(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Failure::Conflict {
            code,
            message: message.into(),
            details: Map::new(),
        }
    }

    pub fn internal(context: &str) -> Self {
        Failure::Internal {
            context: context.to_string(),
        }
    }

    /// A stored document or value that does not parse: logged (without its
    /// contents), answered as an internal failure.
    pub fn corrupt(context: &str, error: impl std::fmt::Display) -> Self {
        tracing::error!(error = %error, context, "stored data does not parse");
        Failure::internal(context)
    }

    /// Adds a detail to a conflict (ignored on other kinds).
    pub fn with(mut self, key: &str, value: impl serde::Serialize) -> Self {
        if let Failure::Conflict { details, .. } = &mut self {
            details.insert(
                key.to_string(),
                serde_json::to_value(value).unwrap_or(Value::Null),
            );
        }
        self
    }
}
