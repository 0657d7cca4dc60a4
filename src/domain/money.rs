//! Money: integer pence, always. Amounts people type in pounds are parsed
//! once here (`Pence::from_pounds`), and amounts are written back the way
//! the reports write them ("£1,234.56"). No floating point anywhere.

use std::fmt;

/// An amount of money in pence: exact, never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pence(pub i64);

/// Text that is not an amount in pounds such as `1,250.50`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an amount in pounds")]
pub struct NotPounds(pub String);

impl Pence {
    /// Pounds as people type them: `1250`, `1,250.50`, `£0.07`; empty is
    /// nothing (0). At most two decimals; no sign, no exponent.
    pub fn from_pounds(s: &str) -> Result<Pence, NotPounds> {
        let bad = || NotPounds(s.to_string());
        let t: String = s.trim().trim_start_matches('£').chars().filter(|c| *c != ',').collect();
        if t.is_empty() {
            return Ok(Pence(0));
        }
        let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
        let digits = |x: &str| x.chars().all(|c| c.is_ascii_digit());
        if whole.is_empty() || frac.len() > 2 || !digits(whole) || !digits(frac) {
            return Err(bad());
        }
        let w: i64 = whole.parse().map_err(|_| bad())?;
        let f: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
        w.checked_mul(100)
            .and_then(|x| x.checked_add(f))
            .map(Pence)
            .ok_or_else(bad)
    }
}

/// A whole number with thousands grouped, as amounts and counts are
/// written for people: 1234567 → "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    grouped
}

/// "£1,234.56" (negative: "−£12.00").
impl fmt::Display for Pence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "−" } else { "" };
        let p = self.0.unsigned_abs();
        write!(f, "{sign}£{}.{:02}", thousands(p / 100), p % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pounds_as_typed_become_pence_and_read_back() {
        assert_eq!(Pence::from_pounds("1250"), Ok(Pence(125_000)));
        assert_eq!(Pence::from_pounds("£1,250.5"), Ok(Pence(125_050)));
        assert_eq!(Pence::from_pounds("0.07"), Ok(Pence(7)));
        assert_eq!(Pence::from_pounds(""), Ok(Pence(0)));
        for bad in ["12.345", "-5", "1e3", "ten", ".5", "99999999999999999999"] {
            assert!(Pence::from_pounds(bad).is_err(), "{bad}");
        }
        assert_eq!(Pence(123_456).to_string(), "£1,234.56");
        assert_eq!(Pence(-1_200).to_string(), "−£12.00");
        assert_eq!(Pence(7).to_string(), "£0.07");
    }
}
