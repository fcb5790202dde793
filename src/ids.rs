//! Validated identifiers: an id is checked once, when it is parsed, and is safe to put in a
//! URL path from then on.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest id Cloudflare issues or accepts, in characters.
pub const MAX_ID_LEN: usize = 32;

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdProblem {
    /// The id is empty.
    Empty,
    /// The id is longer than [`MAX_ID_LEN`] characters.
    TooLong {
        /// How many characters it has.
        len: usize,
    },
    /// The id holds a character other than an ASCII letter or digit.
    InvalidChar {
        /// The offending character.
        ch: char,
        /// Its position, counted in characters from 0.
        position: usize,
    },
}

impl fmt::Display for IdProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("it is empty"),
            Self::TooLong { len } => {
                write!(f, "it has {len} characters, more than {MAX_ID_LEN}")
            }
            Self::InvalidChar { ch, position } => write!(
                f,
                "character {position} is {ch:?}; only ASCII letters and digits are allowed"
            ),
        }
    }
}

/// A string was not a valid id; says which argument and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {argument}: {problem}")]
pub struct InvalidId {
    argument: &'static str,
    problem: IdProblem,
}

impl InvalidId {
    /// Which argument was wrong, such as `"video id"`.
    pub fn argument(&self) -> &'static str {
        self.argument
    }

    /// Why it was wrong.
    pub fn problem(&self) -> &IdProblem {
        &self.problem
    }
}

fn check(argument: &'static str, value: &str) -> Result<(), InvalidId> {
    let problem = if value.is_empty() {
        Some(IdProblem::Empty)
    } else if let Some((position, ch)) = value
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii_alphanumeric())
    {
        // Checked before the length so that `../..` style input is named for what it is.
        Some(IdProblem::InvalidChar { ch, position })
    } else if value.len() > MAX_ID_LEN {
        Some(IdProblem::TooLong { len: value.len() })
    } else {
        None
    };
    match problem {
        Some(problem) => Err(InvalidId { argument, problem }),
        None => Ok(()),
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $argument:literal) => {
        $(#[$doc])*
        ///
        /// Holds 1 to 32 ASCII letters and digits, so it can never change the route of a
        /// request it is part of.
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Box<str>);

        impl $name {
            /// Parses and validates an id.
            ///
            /// # Errors
            ///
            /// [`InvalidId`] when `value` is empty, longer than 32 characters, or holds
            /// anything but ASCII letters and digits.
            pub fn new(value: &str) -> Result<Self, InvalidId> {
                check($argument, value)?;
                Ok(Self(value.into()))
            }

            /// The id as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::new(value)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = InvalidId;

            fn try_from(value: &str) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                check($argument, &value)?;
                Ok(Self(value.into_boxed_str()))
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), &*self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = String::deserialize(deserializer)?;
                Self::try_from(value).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// A Cloudflare account id, such as `0123456789abcdef0123456789abcdef`.
    AccountId,
    "account id"
);

id_type!(
    /// A Stream video's unique id (its uid), such as `fedcba9876543210fedcba9876543210`.
    VideoId,
    "video id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_ids() {
        let id: VideoId = "fedcba9876543210fedcba9876543210".parse().unwrap();
        assert_eq!(id.as_str(), "fedcba9876543210fedcba9876543210");
        assert_eq!(id.to_string(), id.as_str());
    }

    #[test]
    fn names_the_argument_and_the_reason() {
        let err = VideoId::new("fedcba98/../../x").unwrap_err();
        assert_eq!(err.argument(), "video id");
        assert_eq!(
            err.problem(),
            &IdProblem::InvalidChar {
                ch: '/',
                position: 8
            }
        );
        assert_eq!(
            err.to_string(),
            "invalid video id: character 8 is '/'; only ASCII letters and digits are allowed"
        );
        let err = AccountId::new(&"a".repeat(33)).unwrap_err();
        assert_eq!(err.argument(), "account id");
        assert_eq!(err.problem(), &IdProblem::TooLong { len: 33 });
        assert_eq!(VideoId::new("").unwrap_err().problem(), &IdProblem::Empty);
    }

    #[test]
    fn deserialising_validates() {
        assert!(serde_json::from_str::<VideoId>("\"..\"").is_err());
        let id: AccountId = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(id.as_str(), "abc");
    }
}
