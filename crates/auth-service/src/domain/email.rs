//! Email normalisation and validation, and the registration password policy.

/// Normalises an email for storage and lookup: trimmed, lowercased. Rejects
/// anything that is not a plain `local@domain` address, including control
/// characters, bidi overrides and other invisible code points.
pub fn normalize_email(raw: &str) -> Result<String, &'static str> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Err("email is empty");
    }
    if email.len() > 254 {
        return Err("email is longer than 254 bytes");
    }
    if email
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || is_invisible(c))
    {
        return Err("email contains whitespace, control or invisible characters");
    }
    // Without Unicode normalisation, a decomposed "é" and a composed one would be two accounts
    // that look the same: combining marks are refused.
    if email.chars().any(is_combining) {
        return Err("email contains combining marks; use the composed form of accented letters");
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err("email must contain @");
    };
    if local.is_empty() || local.len() > 64 || local.contains('@') {
        return Err("the part before @ is invalid");
    }
    if domain.len() < 3
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
    {
        return Err("the domain is invalid");
    }
    if domain
        .chars()
        .any(|c| !(c.is_alphanumeric() || c == '-' || c == '.'))
    {
        return Err("the domain contains invalid characters");
    }
    if local.chars().any(|c| {
        matches!(
            c,
            '"' | '(' | ')' | ',' | ':' | ';' | '<' | '>' | '[' | '\\' | ']'
        )
    }) {
        return Err("the part before @ contains invalid characters");
    }
    Ok(email)
}

/// Validates an optional display name (1..=200 characters, no control or invisible characters).
pub fn validate_name(name: &str) -> Result<String, &'static str> {
    let name = name.trim();
    if name.is_empty() {
        return Err("name is empty");
    }
    if name.chars().count() > 200 {
        return Err("name is longer than 200 characters");
    }
    if name.chars().any(|c| c.is_control() || is_invisible(c)) {
        return Err("name contains control or invisible characters");
    }
    Ok(name.to_owned())
}

/// The password policy: at least 10 characters, at most 1024 bytes, not the email.
pub fn check_password_policy(password: &str, normalized_email: &str) -> Result<(), &'static str> {
    if password.len() > 1024 {
        return Err("password must be at most 1024 bytes");
    }
    if password.chars().count() < 10 {
        return Err("password must be at least 10 characters");
    }
    if password.trim().to_lowercase() == normalized_email {
        return Err("password must not be the email address");
    }
    if password
        .chars()
        .all(|c| c == password.chars().next().unwrap_or(' '))
    {
        return Err("password must not be one repeated character");
    }
    Ok(())
}

/// Combining diacritical marks (the common blocks).
fn is_combining(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// Zero-width, bidi-control and other format characters that make two strings look alike.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_case_and_space() {
        assert_eq!(
            normalize_email("  Alice@Example.COM ").unwrap(),
            "alice@example.com"
        );
    }

    #[test]
    fn rejects_malformed_and_odd_unicode() {
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "a b@example.com",
            "alice@exa mple.com",
            "al\u{202E}ice@example.com",
            "alice\u{200B}@example.com",
            "alice@example..com",
            "al\0ice@example.com",
            "e\u{301}@example.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn password_policy() {
        assert!(check_password_policy("short", "a@b.co").is_err());
        assert!(check_password_policy("alice@example.com", "alice@example.com").is_err());
        assert!(check_password_policy(&"x".repeat(1025), "a@b.co").is_err());
        assert!(check_password_policy("aaaaaaaaaaaa", "a@b.co").is_err());
        assert!(check_password_policy("correct horse battery", "a@b.co").is_ok());
        // 10 characters but more bytes is fine; length counts characters
        assert!(check_password_policy("ééééééééé1", "a@b.co").is_ok());
    }
}
