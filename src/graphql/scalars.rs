//! Exact decimal scalars. Areas and money travel as decimal strings with two decimals and are
//! kept as integer hundredths, so no figure ever passes through a float or a 32-bit `Int`.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};

/// Formats integer hundredths as a decimal string with two decimals ("-12.05").
pub fn format_hundredths(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let abs = v.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Parses a decimal string with at most two decimals into integer hundredths.
pub fn parse_hundredths(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |p: &str| p.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty()
        || !all_digits(whole)
        || !all_digits(frac)
        || (digits.contains('.') && frac.is_empty())
    {
        return Err(format!("{s:?} is not a decimal number"));
    }
    if frac.len() > 2 {
        return Err(format!("{s:?} has more than two decimals"));
    }
    let whole: i64 = whole.parse().map_err(|_| format!("{s:?} is too large"))?;
    let frac: i64 = format!("{frac:0<2}").parse().unwrap_or(0);
    let v = whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(|| format!("{s:?} is too large"))?;
    Ok(if negative { -v } else { v })
}

/// `part / whole` as a percentage with two decimals, rounded half up, computed in integers.
/// An empty whole gives "0.00".
pub fn format_percent(part: i64, whole: i64) -> String {
    if whole <= 0 {
        return "0.00".to_string();
    }
    let (part, whole) = (part as i128, whole as i128);
    // hundredths of a percent = part * 10000 / whole, rounded half up
    let basis_points = (part * 10_000 * 2 + whole) / (whole * 2);
    format_hundredths(basis_points as i64)
}

macro_rules! hundredths_scalar {
    ($name:ident, $gql:literal, $desc:literal) => {
        #[doc = $desc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        pub struct $name(pub i64);

        #[Scalar(name = $gql)]
        #[doc = $desc]
        impl ScalarType for $name {
            fn parse(value: Value) -> InputValueResult<Self> {
                match &value {
                    Value::String(s) => parse_hundredths(s)
                        .map($name)
                        .map_err(InputValueError::custom),
                    _ => Err(InputValueError::expected_type(value)),
                }
            }

            fn to_value(&self) -> Value {
                Value::String(format_hundredths(self.0))
            }
        }
    };
}

hundredths_scalar!(
    Area,
    "Area",
    "An area in square metres as a decimal string with two decimals, e.g. \"89.50\"; exact, never a float."
);
hundredths_scalar!(
    Money,
    "Money",
    "An amount of CNY in yuan as a decimal string with two decimals, e.g. \"420000.00\"; exact, never a float."
);
hundredths_scalar!(
    Percent,
    "Percent",
    "A percentage as a decimal string with two decimals, e.g. \"89.90\" for 89.90%, rounded half up from exact integer figures."
);

/// A count that may exceed 32 bits (city-wide totals), as a decimal string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count(pub i64);

/// A whole-number count as a decimal string, e.g. "2760000": city totals can exceed GraphQL's 32-bit Int.
#[Scalar(name = "Count")]
impl ScalarType for Count {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(Count)
                .map_err(|_| InputValueError::custom("not a whole number")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hundredths_round_trip() {
        assert_eq!(format_hundredths(42_000_000), "420000.00");
        assert_eq!(format_hundredths(5), "0.05");
        assert_eq!(format_hundredths(-1205), "-12.05");
        assert_eq!(parse_hundredths("420000.00").unwrap(), 42_000_000);
        assert_eq!(parse_hundredths("89.5").unwrap(), 8950);
        assert_eq!(parse_hundredths("7").unwrap(), 700);
        assert_eq!(parse_hundredths("-0.01").unwrap(), -1);
        for bad in [
            "",
            "1.234",
            "1.",
            ".5",
            "1e3",
            "abc",
            "--1",
            "1,5",
            "99999999999999999999",
        ] {
            assert!(parse_hundredths(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn percent_rounds_half_up_exactly() {
        assert_eq!(format_percent(1, 3), "33.33");
        assert_eq!(format_percent(2, 3), "66.67");
        assert_eq!(format_percent(1, 8), "12.50");
        assert_eq!(format_percent(1, 80000), "0.00"); // 0.00125% rounds to 0.00
        assert_eq!(format_percent(1, 20000), "0.01"); // 0.005% rounds half up
        assert_eq!(format_percent(5, 5), "100.00");
        assert_eq!(format_percent(0, 0), "0.00");
        assert_eq!(format_percent(i64::MAX, i64::MAX), "100.00");
    }
}
