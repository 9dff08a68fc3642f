//! HTML reports that DSS shows as a macro's result: a verdict and tables, every value escaped.

use std::fmt::Write;

/// How a report (or one row of it) came out; serialised as its label (`OK`, `Warning`,
/// `Failed`), as results show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Verdict {
    #[serde(rename = "OK")]
    Ok,
    Warning,
    Failed,
}

impl Verdict {
    fn colour(self) -> &'static str {
        match self {
            Verdict::Ok => "#1e7b34",
            Verdict::Warning => "#9a6700",
            Verdict::Failed => "#b42318",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Verdict::Ok => "OK",
            Verdict::Warning => "Warning",
            Verdict::Failed => "Failed",
        }
    }
}

/// A result shown as HTML (a DSS action's report, a notebook's `_repr_html_`).
pub trait ToHtml {
    fn to_html(&self) -> String;
}

/// `&`, `<`, `>`, `"` and `'` made safe for HTML text and attribute values.
pub fn escape(text: &str) -> String {
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

/// An HTML fragment built section by section; text given to it is always escaped.
#[derive(Debug, Default)]
pub struct Report {
    html: String,
}

impl Report {
    pub fn new(title: &str) -> Self {
        let mut report = Self::default();
        let _ = write!(
            report.html,
            "<div class=\"gke-native-report\" style=\"font-family:sans-serif\"><h3>{}</h3>",
            escape(title)
        );
        report
    }

    pub fn verdict(mut self, verdict: Verdict, text: &str) -> Self {
        let _ = write!(
            self.html,
            "<p style=\"color:{};font-weight:bold\">{}: {}</p>",
            verdict.colour(),
            verdict.label(),
            escape(text)
        );
        self
    }

    pub fn paragraph(mut self, text: &str) -> Self {
        let _ = write!(self.html, "<p>{}</p>", escape(text));
        self
    }

    /// Text shown as-is (a command's output), escaped.
    pub fn preformatted(mut self, text: &str) -> Self {
        let _ = write!(
            self.html,
            "<pre style=\"background:#f6f8fa;padding:6px\">{}</pre>",
            escape(text)
        );
        self
    }

    /// A table with a header row; each row must have as many cells as there are headers.
    pub fn table<R, C>(mut self, headers: &[&str], rows: R) -> Self
    where
        R: IntoIterator<Item = C>,
        C: IntoIterator<Item = String>,
    {
        self.html.push_str(
            "<table style=\"border-collapse:collapse\" border=\"1\" cellpadding=\"4\"><thead><tr>",
        );
        for h in headers {
            let _ = write!(
                self.html,
                "<th style=\"text-align:left\">{}</th>",
                escape(h)
            );
        }
        self.html.push_str("</tr></thead><tbody>");
        for row in rows {
            self.html.push_str("<tr>");
            for cell in row {
                let _ = write!(self.html, "<td>{}</td>", escape(&cell));
            }
            self.html.push_str("</tr>");
        }
        self.html.push_str("</tbody></table>");
        self
    }

    pub fn finish(mut self) -> String {
        self.html.push_str("</div>");
        self.html
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_everywhere() {
        let html = Report::new("<b>")
            .verdict(Verdict::Failed, "a & b")
            .table(&["k"], [vec!["<script>'x'</script>".to_string()]])
            .finish();
        assert!(html.contains("<h3>&lt;b&gt;</h3>"));
        assert!(html.contains("Failed: a &amp; b"));
        assert!(html.contains("<td>&lt;script&gt;&#39;x&#39;&lt;/script&gt;</td>"));
        assert!(!html.contains("<script>"));
    }
}
