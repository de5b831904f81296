//! The page a link unfurler is shown for a link with a custom preview: its title,
//! description and image as Open Graph and Twitter card tags, and the target as the
//! page's URL and link (a person who lands here follows it).

use std::fmt::Write;

use shortener_domain::LinkPreview;

/// The HTML page of `preview` for a link leading to `target`.
pub fn render(preview: &LinkPreview, target: &str) -> String {
    let target = escape(target);
    let title = preview.title.as_deref().map(escape);
    let mut head = String::new();
    let _ = write!(head, "<meta property=\"og:url\" content=\"{target}\">");
    if let Some(title) = &title {
        let _ = write!(
            head,
            "<title>{title}</title><meta property=\"og:title\" content=\"{title}\">\
             <meta name=\"twitter:title\" content=\"{title}\">"
        );
    }
    if let Some(description) = preview.description.as_deref().map(escape) {
        let _ = write!(
            head,
            "<meta name=\"description\" content=\"{description}\">\
             <meta property=\"og:description\" content=\"{description}\">\
             <meta name=\"twitter:description\" content=\"{description}\">"
        );
    }
    let card = match preview.image.as_deref().map(escape) {
        Some(image) => {
            let _ = write!(
                head,
                "<meta property=\"og:image\" content=\"{image}\">\
                 <meta name=\"twitter:image\" content=\"{image}\">"
            );
            "summary_large_image"
        }
        None => "summary",
    };
    let text = title.unwrap_or_else(|| target.clone());
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\">\
         <meta property=\"og:type\" content=\"website\">\
         <meta name=\"twitter:card\" content=\"{card}\">{head}</head>\
         <body><a href=\"{target}\">{text}</a></body></html>\n"
    )
}

/// `text` safe inside an HTML attribute or element.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_is_escaped_into_its_tags() {
        let preview = LinkPreview {
            title: Some("<Sale> & \"more\"".into()),
            description: Some("it's on".into()),
            image: Some("https://e.example/i.png?a=1&b=2".into()),
        };
        let page = render(&preview, "https://e.example/p?x=\"1\"");
        assert!(
            page.contains(
                "<meta property=\"og:title\" content=\"&lt;Sale&gt; &amp; &quot;more&quot;\">"
            ),
            "{page}"
        );
        assert!(page.contains("content=\"it&#39;s on\""), "{page}");
        assert!(page.contains("<meta name=\"twitter:card\" content=\"summary_large_image\">"));
        assert!(page.contains("content=\"https://e.example/i.png?a=1&amp;b=2\""));
        assert!(page.contains("<a href=\"https://e.example/p?x=&quot;1&quot;\">"));
        assert!(!page.contains("<Sale>"));
    }

    #[test]
    fn without_an_image_the_card_is_a_summary() {
        let preview = LinkPreview {
            title: None,
            description: Some("d".into()),
            image: None,
        };
        let page = render(&preview, "https://e.example/");
        assert!(page.contains("content=\"summary\""));
        assert!(!page.contains("og:image"));
    }
}
