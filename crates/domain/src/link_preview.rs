//! The rules of a link's custom preview: the card a link unfurler shows for it.

use serde::{Deserialize, Serialize};

use crate::{TargetUrl, Title};

/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;

/// What an unfurler is shown: each part optional, at least one present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkPreview {
    pub title: Option<String>,
    pub description: Option<String>,
    /// An absolute http(s) URL of an image.
    pub image: Option<String>,
}

/// Why a preview is refused, naming the part at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkPreviewError {
    #[error("preview.title: {0}")]
    Title(String),
    #[error("preview.description: must be at most {MAX_DESCRIPTION_CHARS} characters, with no NUL")]
    Description,
    #[error("preview.image: {0}")]
    Image(String),
}

impl LinkPreview {
    /// A preview from its parts as sent: trimmed, blank parts dropped; `None` when no
    /// part is left (a preview of nothing is no preview).
    pub fn parse(
        title: Option<&str>,
        description: Option<&str>,
        image: Option<&str>,
    ) -> Result<Option<Self>, LinkPreviewError> {
        let title = match title {
            Some(raw) => Title::parse(raw)
                .map_err(|error| LinkPreviewError::Title(error.to_string()))?
                .map(Title::into_string),
            None => None,
        };
        let description = match description.map(str::trim) {
            Some(raw) if raw.chars().count() > MAX_DESCRIPTION_CHARS || raw.contains('\0') => {
                return Err(LinkPreviewError::Description);
            }
            Some(raw) => (!raw.is_empty()).then(|| raw.to_owned()),
            None => None,
        };
        let image = match image.map(str::trim).filter(|raw| !raw.is_empty()) {
            Some(raw) => Some(
                TargetUrl::parse(raw)
                    .map_err(|error| LinkPreviewError::Image(error.to_string()))?
                    .as_str()
                    .to_owned(),
            ),
            None => None,
        };
        if title.is_none() && description.is_none() && image.is_none() {
            return Ok(None);
        }
        Ok(Some(Self {
            title,
            description,
            image,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_trimmed_and_blank_ones_dropped() {
        let preview = LinkPreview::parse(Some(" Sale "), Some(""), Some("https://e.example/i.png"))
            .unwrap()
            .unwrap();
        assert_eq!(preview.title.as_deref(), Some("Sale"));
        assert_eq!(preview.description, None);
        assert_eq!(preview.image.as_deref(), Some("https://e.example/i.png"));
    }

    #[test]
    fn bad_previews_are_refused_and_empty_ones_are_none() {
        assert_eq!(LinkPreview::parse(None, Some(" "), None), Ok(None));
        assert!(matches!(
            LinkPreview::parse(None, None, Some("javascript:alert(1)")),
            Err(LinkPreviewError::Image(_))
        ));
        let long = "d".repeat(MAX_DESCRIPTION_CHARS + 1);
        assert_eq!(
            LinkPreview::parse(None, Some(&long), None),
            Err(LinkPreviewError::Description)
        );
        assert!(matches!(
            LinkPreview::parse(Some(&"t".repeat(300)), None, None),
            Err(LinkPreviewError::Title(_))
        ));
    }
}
