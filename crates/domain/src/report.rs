//! Reports of links and operators' locks: why a link was reported, what the reporter
//! said, and why an operator locked it.

/// Why a link is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportReason {
    Phishing,
    Malware,
    Spam,
    Abuse,
    Other,
}

impl ReportReason {
    /// Every reason, as the API and the table spell them.
    pub const ALL: [ReportReason; 5] = [
        Self::Phishing,
        Self::Malware,
        Self::Spam,
        Self::Abuse,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phishing => "phishing",
            Self::Malware => "malware",
            Self::Spam => "spam",
            Self::Abuse => "abuse",
            Self::Other => "other",
        }
    }

    /// The reason of this name.
    pub fn parse(raw: &str) -> Result<Self, ReportTextError> {
        Self::ALL
            .into_iter()
            .find(|reason| reason.as_str() == raw)
            .ok_or(ReportTextError::Reason)
    }
}

/// Longest report comment, in characters.
pub const MAX_REPORT_COMMENT_CHARS: usize = 1000;
/// Longest lock reason, in characters.
pub const MAX_LOCK_REASON_CHARS: usize = 500;

/// Why a report's or a lock's text is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReportTextError {
    #[error("must be one of phishing, malware, spam, abuse, other")]
    Reason,
    #[error("must be 1 to {0} characters, not only whitespace, no NUL")]
    Text(usize),
}

/// A free text of 1 to `max` characters as sent, not only whitespace, no NUL; trimmed.
pub fn parse_note(raw: &str, max: usize) -> Result<String, ReportTextError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || raw.chars().count() > max || raw.contains('\0') {
        return Err(ReportTextError::Text(max));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_the_listed_words_only() {
        for reason in ReportReason::ALL {
            assert_eq!(ReportReason::parse(reason.as_str()), Ok(reason));
        }
        for bad in ["", "Phishing", "fraud", " spam"] {
            assert_eq!(
                ReportReason::parse(bad),
                Err(ReportTextError::Reason),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn notes_are_bounded_trimmed_and_not_blank() {
        assert_eq!(parse_note(" hi ", 5).unwrap(), "hi");
        assert!(parse_note("     ", 5).is_err());
        assert!(parse_note("abcdef", 5).is_err());
        assert!(parse_note("a\0", 5).is_err());
    }
}
