//! Code tables: ISO 3166-1 alpha-2 country codes and the codes of regional and international
//! intellectual-property offices.

/// Every officially assigned ISO 3166-1 alpha-2 code (249 of them), sorted, for binary search.
///
/// User-assigned codes (such as `XK`) and exceptionally or transitionally reserved codes (such as
/// `EU` or `UK`) are not in this table.
pub const ISO_3166_ALPHA2: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// Codes of regional and international offices that register rights for several countries, sorted:
/// `AP` (ARIPO), `BX` (Benelux Office for Intellectual Property), `EA` (Eurasian Patent
/// Organization), `EM` (EUIPO), `EP` (European Patent Office), `GC` (GCC Patent Office), `OA`
/// (OAPI), `WO` (WIPO). None of them is an assigned ISO 3166-1 code.
pub const REGIONAL_OFFICE_CODES: [&str; 8] = ["AP", "BX", "EA", "EM", "EP", "GC", "OA", "WO"];

/// Whether `code` is an officially assigned ISO 3166-1 alpha-2 code (uppercase).
pub fn is_iso_country(code: &str) -> bool {
    ISO_3166_ALPHA2.binary_search(&code).is_ok()
}

/// Whether `code` is one of the [`REGIONAL_OFFICE_CODES`].
pub fn is_regional_office(code: &str) -> bool {
    REGIONAL_OFFICE_CODES.binary_search(&code).is_ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn tables_are_sorted_unique_and_disjoint() {
        assert!(ISO_3166_ALPHA2.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(
            REGIONAL_OFFICE_CODES
                .windows(2)
                .all(|pair| pair[0] < pair[1])
        );
        for code in ISO_3166_ALPHA2.iter().chain(REGIONAL_OFFICE_CODES.iter()) {
            assert_eq!(code.len(), 2);
            assert!(code.bytes().all(|b| b.is_ascii_uppercase()), "{code}");
        }
        for code in REGIONAL_OFFICE_CODES {
            assert!(!is_iso_country(code), "{code}");
        }
    }

    #[test]
    fn lookups() {
        for code in ["FR", "US", "DE", "CN", "AX", "ZW", "AD"] {
            assert!(is_iso_country(code), "{code}");
        }
        for code in ["XX", "XK", "EU", "UK", "fr", "", "FRA", "EM"] {
            assert!(!is_iso_country(code), "{code}");
        }
        assert!(is_regional_office("EM"));
        assert!(is_regional_office("WO"));
        assert!(!is_regional_office("FR"));
    }
}
