//! Money: fen (分, `i64`) in the store, yuan with at most two decimals on the wire.

use crate::{Error, Result};

/// The largest amount accepted anywhere: 100 million yuan.
pub const MAX_YUAN: f64 = 100_000_000.0;

/// Yuan from the wire to fen, refusing negatives, absurd amounts and more
/// than two decimals; `field` names the input in the error.
pub fn yuan_to_fen(field: &str, yuan: f64) -> Result<i64> {
    if !yuan.is_finite() {
        return Err(Error::invalid(field, "must be a number"));
    }
    if yuan < 0.0 {
        return Err(Error::invalid(field, "must not be negative"));
    }
    if yuan > MAX_YUAN {
        return Err(Error::invalid(field, "must be at most 100000000"));
    }
    let cents = yuan * 100.0;
    let fen = cents.round();
    if (cents - fen).abs() > 1e-6 {
        return Err(Error::invalid(field, "must have at most two decimals"));
    }
    Ok(fen as i64)
}

pub fn fen_to_yuan(fen: i64) -> f64 {
    fen as f64 / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(yuan_to_fen("amount", 0.0).unwrap(), 0);
        assert_eq!(yuan_to_fen("amount", 19.99).unwrap(), 1999);
        assert_eq!(yuan_to_fen("amount", 0.1 + 0.2).unwrap(), 30);
        assert_eq!(
            yuan_to_fen("amount", 100_000_000.0).unwrap(),
            10_000_000_000
        );
        assert_eq!(fen_to_yuan(1999), 19.99);
        for bad in [-0.01, 1.005, f64::NAN, f64::INFINITY, 100_000_000.01] {
            let Err(Error::Invalid { field, .. }) = yuan_to_fen("amount", bad) else {
                panic!("{bad} accepted")
            };
            assert_eq!(field, "amount");
        }
    }
}
