//! Column builders shared by the generators: each turns a slice of plain row structs into one
//! Arrow array in a single pass (no per-cell boxing, no formatting), which keeps generation cheap
//! next to Parquet encoding.

use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow_buffer::{BooleanBuffer, NullBuffer};

/// A non-null string column. Sizes its buffers exactly first (`f` is called twice per row), so
/// no buffer grows while it is filled.
pub(super) fn strs<'a, T>(rows: &'a [T], f: impl Fn(&'a T) -> &'a str) -> ArrayRef {
    let bytes: usize = rows.iter().map(|r| f(r).len()).sum();
    let mut b = StringBuilder::with_capacity(rows.len(), bytes);
    for r in rows {
        b.append_value(f(r));
    }
    Arc::new(b.finish())
}

/// A nullable string column, sized like [`strs`].
pub(super) fn opt_strs<'a, T>(rows: &'a [T], f: impl Fn(&'a T) -> Option<&'a str>) -> ArrayRef {
    let bytes: usize = rows.iter().map(|r| f(r).map_or(0, str::len)).sum();
    let mut b = StringBuilder::with_capacity(rows.len(), bytes);
    for r in rows {
        b.append_option(f(r));
    }
    Arc::new(b.finish())
}

/// The validity mask of a nullable column (`None` when nothing is null).
fn validity<T>(rows: &[T], valid: impl Fn(&T) -> bool) -> Option<NullBuffer> {
    let mask = BooleanBuffer::collect_bool(rows.len(), |i| valid(&rows[i]));
    Some(NullBuffer::new(mask)).filter(|n| n.null_count() > 0)
}

/// A non-null 64-bit integer column.
pub(super) fn ints<T>(rows: &[T], f: impl Fn(&T) -> i64) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(rows.iter().map(f)))
}

/// A nullable 64-bit integer column (nulls hold 0 underneath).
pub(super) fn opt_ints<T>(rows: &[T], f: impl Fn(&T) -> Option<i64>) -> ArrayRef {
    let values: Vec<i64> = rows.iter().map(|r| f(r).unwrap_or_default()).collect();
    Arc::new(Int64Array::new(values.into(), validity(rows, |r| f(r).is_some())))
}

/// A non-null double column.
pub(super) fn floats<T>(rows: &[T], f: impl Fn(&T) -> f64) -> ArrayRef {
    Arc::new(Float64Array::from_iter_values(rows.iter().map(f)))
}

/// A nullable double column.
pub(super) fn opt_floats<T>(rows: &[T], f: impl Fn(&T) -> Option<f64>) -> ArrayRef {
    let values: Vec<f64> = rows.iter().map(|r| f(r).unwrap_or_default()).collect();
    Arc::new(Float64Array::new(values.into(), validity(rows, |r| f(r).is_some())))
}

/// A non-null boolean column.
pub(super) fn bools<T>(rows: &[T], f: impl Fn(&T) -> bool) -> ArrayRef {
    Arc::new(BooleanArray::new(
        BooleanBuffer::collect_bool(rows.len(), |i| f(&rows[i])),
        None,
    ))
}

/// A nullable boolean column.
pub(super) fn opt_bools<T>(rows: &[T], f: impl Fn(&T) -> Option<bool>) -> ArrayRef {
    let values = BooleanBuffer::collect_bool(rows.len(), |i| f(&rows[i]).unwrap_or_default());
    Arc::new(BooleanArray::new(values, validity(rows, |r| f(r).is_some())))
}

/// A non-null TIMESTAMP(MICROSECOND, UTC) column from unix microseconds.
pub(super) fn times<T>(rows: &[T], f: impl Fn(&T) -> i64) -> ArrayRef {
    let values: Vec<i64> = rows.iter().map(f).collect();
    Arc::new(TimestampMicrosecondArray::new(values.into(), None).with_timezone("UTC"))
}

/// A nullable TIMESTAMP(MICROSECOND, UTC) column from unix microseconds.
pub(super) fn opt_times<T>(rows: &[T], f: impl Fn(&T) -> Option<i64>) -> ArrayRef {
    let values: Vec<i64> = rows.iter().map(|r| f(r).unwrap_or_default()).collect();
    let a = TimestampMicrosecondArray::new(values.into(), validity(rows, |r| f(r).is_some()));
    Arc::new(a.with_timezone("UTC"))
}

/// A column null in every row (a retired field the schema still lists).
pub(super) fn all_null_strs(rows: usize) -> ArrayRef {
    Arc::new(StringArray::new_null(rows))
}

/// Lower-case hex of 128 bits (32 characters) into `out`, without formatting machinery.
pub(super) fn hex128(hi: u64, lo: u64, out: &mut [u8; 32]) -> &str {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in hi.to_be_bytes().into_iter().chain(lo.to_be_bytes()).enumerate() {
        out[2 * i] = HEX[(b >> 4) as usize];
        out[2 * i + 1] = HEX[(b & 15) as usize];
    }
    // Only ASCII hex digits were written.
    std::str::from_utf8(out).unwrap_or_default()
}

/// A North American number `+1NPANXXXXXX` from a 64-bit value, without formatting machinery.
pub(super) fn phone_from(v: u64, out: &mut [u8; 12]) -> &str {
    out[0] = b'+';
    out[1] = b'1';
    let area = 201 + (v % 789);
    let mut rest = (v / 789) % 10_000_000;
    out[2] = b'0' + (area / 100) as u8;
    out[3] = b'0' + (area / 10 % 10) as u8;
    out[4] = b'0' + (area % 10) as u8;
    for i in (5..12).rev() {
        out[i] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    std::str::from_utf8(out).unwrap_or_default()
}

/// SplitMix64: a cheap bijective mixer for deterministic per-record ids.
pub(super) fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A string column built from per-row fragments pushed into a scratch buffer (e.g. joined paths).
pub(super) fn joined<T>(rows: &[T], mut f: impl FnMut(&T, &mut String)) -> ArrayRef {
    let mut b = StringBuilder::with_capacity(rows.len(), rows.len() * 48);
    let mut scratch = String::with_capacity(128);
    for r in rows {
        scratch.clear();
        f(r, &mut scratch);
        b.append_value(&scratch);
    }
    Arc::new(b.finish())
}

/// Rounds to `places` decimals (scores and ratios read better that way).
pub(super) fn round_to(x: f64, places: i32) -> f64 {
    let m = 10f64.powi(places);
    (x * m).round() / m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_phone_are_well_formed() {
        let mut h = [0u8; 32];
        assert_eq!(
            hex128(0x0123_4567_89ab_cdef, 1, &mut h),
            "0123456789abcdef0000000000000001"
        );
        let mut p = [0u8; 12];
        let s = phone_from(123_456_789_012, &mut p).to_string();
        assert_eq!(s.len(), 12);
        assert!(s.starts_with("+1") && s[1..].bytes().all(|b| b.is_ascii_digit()));
        assert_ne!(mix64(1), mix64(2));
        assert_eq!(round_to(1.23456, 2), 1.23);
    }
}
