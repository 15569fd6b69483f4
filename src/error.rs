//! The one error type resolvers return, mapped to GraphQL `extensions.code`.

use async_graphql::ErrorExtensions;

use crate::db::DbError;

/// What went wrong, from the client's point of view. Each variant is one `extensions.code`.
///
/// Deliberately not `Display`: async-graphql converts every `Display` type into an error without
/// a code, and this type must only ever become an error with one (see the `From` impl below).
#[derive(Debug)]
pub enum AppError {
    Unauthenticated,
    InvalidToken(String),
    Forbidden(String),
    NotFound(String),
    BadUserInput(String),
    Conflict(String),
    /// Logged with its detail; the client sees only "internal error".
    Internal(String),
}

impl AppError {
    /// The message the client sees.
    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated => {
                "authentication required: send `Authorization: Bearer <token>`".to_string()
            }
            Self::InvalidToken(why) => format!("invalid token: {why}"),
            Self::Forbidden(why) => format!("forbidden: {why}"),
            Self::NotFound(what) => format!("not found: {what}"),
            Self::BadUserInput(why) | Self::Conflict(why) => why.clone(),
            Self::Internal(_) => "internal error".to_string(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated | Self::InvalidToken(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::BadUserInput(_) => "BAD_USER_INPUT",
            Self::Conflict(_) => "CONFLICT",
            Self::Internal(_) => "INTERNAL",
        }
    }

    pub fn bad_input(msg: impl Into<String>) -> Self {
        Self::BadUserInput(msg.into())
    }

    pub fn forbidden(msg: impl Into<String>) -> Self {
        Self::Forbidden(msg.into())
    }

    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::NotFound(msg.into())
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(e: AppError) -> Self {
        if let AppError::Internal(detail) = &e {
            tracing::error!(error = %detail, "internal error");
        }
        let code = e.code();
        async_graphql::Error::new(e.message()).extend_with(|_, ext| ext.set("code", code))
    }
}

/// Resolver results.
pub type AppResult<T> = Result<T, AppError>;
