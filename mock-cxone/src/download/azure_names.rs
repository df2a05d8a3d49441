//! Azure Blob Storage's rules for the names and secrets of an `azure_blob` destination, checked
//! when a download is created so that a bad one is a 400 naming the field, not a job that fails
//! an hour later. The rules are Azure's own ("Naming and referencing containers, blobs, and
//! metadata"; storage account names), which Azurite enforces too.

/// Why a name or secret is refused (the message names the rule).
pub type NameResult = Result<(), String>;

/// A storage account name: 3-24 characters, lowercase letters and digits only.
pub fn check_account(name: &str) -> NameResult {
    if !(3..=24).contains(&name.len()) {
        return Err(format!("{name:?} must be 3 to 24 characters long"));
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
        return Err(format!("{name:?} may contain only lowercase letters and digits"));
    }
    Ok(())
}

/// A container name: 3-63 characters of lowercase letters, digits and hyphens; it starts and
/// ends with a letter or digit, and no two hyphens are adjacent.
pub fn check_container(name: &str) -> NameResult {
    if !(3..=63).contains(&name.len()) {
        return Err(format!("{name:?} must be 3 to 63 characters long"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(format!(
            "{name:?} may contain only lowercase letters, digits and hyphens"
        ));
    }
    if name.starts_with('-') || name.ends_with('-') || name.contains("--") {
        return Err(format!(
            "{name:?} must start and end with a letter or digit, and may not have two hyphens in a row"
        ));
    }
    Ok(())
}

/// An account key: standard base64 (Azure's keys are 64 bytes, 88 characters; Azurite's too).
pub fn check_access_key(key: &str) -> NameResult {
    let body = key.trim_end_matches('=');
    let padding = key.len() - body.len();
    let alphabet = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
    if key.is_empty() || !key.len().is_multiple_of(4) || padding > 2 || !body.bytes().all(alphabet) {
        return Err("must be the account's key in base64, as the portal shows it".into());
    }
    Ok(())
}

/// A SAS token: the query string of a SAS URL (a leading `?` is allowed), with its signature.
pub fn check_sas_token(token: &str) -> NameResult {
    let query = token.strip_prefix('?').unwrap_or(token);
    let has = |name: &str| {
        query
            .split('&')
            .any(|pair| pair.split_once('=').is_some_and(|(k, v)| k == name && !v.is_empty()))
    };
    if !has("sig") || !has("sv") {
        return Err(
            "must be a SAS query string with at least sv= and sig= (e.g. \"sv=2023-11-03&...&sig=...\")".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_names() {
        assert!(check_account("devstoreaccount1").is_ok());
        assert!(check_account("ab").is_err());
        assert!(check_account("Dev").is_err());
        assert!(check_account("dev-store").is_err());
        assert!(check_account(&"a".repeat(25)).is_err());
    }

    #[test]
    fn container_names() {
        assert!(check_container("bi-lake-2026").is_ok());
        assert!(check_container("ab").is_err());
        assert!(check_container("BI-lake").is_err());
        assert!(check_container("-lake").is_err());
        assert!(check_container("lake-").is_err());
        assert!(check_container("bi--lake").is_err());
        assert!(check_container("bi_lake").is_err());
        assert!(check_container("$root").is_err());
    }

    #[test]
    fn access_keys_are_base64() {
        let azurite = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
        assert!(check_access_key(azurite).is_ok());
        assert!(check_access_key("").is_err());
        assert!(check_access_key("not base64!").is_err());
        assert!(check_access_key("abc").is_err());
        assert!(check_access_key("a===").is_err());
    }

    #[test]
    fn sas_tokens_carry_a_signature() {
        assert!(check_sas_token("sv=2023-11-03&sp=rwdl&sig=abc%3D").is_ok());
        assert!(check_sas_token("?sv=2023-11-03&sig=abc").is_ok());
        assert!(check_sas_token("sv=2023-11-03").is_err());
        assert!(check_sas_token("sig=").is_err());
        assert!(check_sas_token("").is_err());
    }
}
