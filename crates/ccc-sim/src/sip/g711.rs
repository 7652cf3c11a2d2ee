//! G.711 μ-law (PCMU, RTP payload type 0): 8 kHz, one byte per sample.
//!
//! The classic segment encoder (ITU-T G.711, the "Sun" reference code):
//! bias 0x84, clip at 32 635, 3-bit segment and 4-bit mantissa, bits
//! inverted on the wire.

const BIAS: i32 = 0x84;
const CLIP: i32 = 32_635;

/// Encodes one 16-bit linear sample.
pub fn encode(sample: i16) -> u8 {
    let sample = i32::from(sample);
    let sign: u8 = if sample < 0 { 0x80 } else { 0 };
    let magnitude = sample.abs().min(CLIP) + BIAS;
    // The segment is the position of the highest set bit above bit 7.
    let top = (magnitude >> 7) as u32;
    let exponent = if top == 0 {
        0
    } else {
        31 - top.leading_zeros()
    };
    let mantissa = ((magnitude >> (exponent + 3)) & 0x0F) as u8;
    !(sign | ((exponent as u8) << 4) | mantissa)
}

/// Decodes one byte to a 16-bit linear sample.
pub fn decode(byte: u8) -> i16 {
    let u = !byte;
    let exponent = u32::from((u >> 4) & 0x07);
    let mantissa = i32::from(u & 0x0F);
    let magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS;
    // At most 32 124: always fits.
    let magnitude = magnitude as i16;
    if u & 0x80 != 0 {
        -magnitude
    } else {
        magnitude
    }
}

/// Encodes a frame of samples.
pub fn encode_frame(samples: &[i16]) -> Vec<u8> {
    samples.iter().copied().map(encode).collect()
}

/// Decodes a frame.
pub fn decode_frame(bytes: &[u8]) -> Vec<i16> {
    bytes.iter().copied().map(decode).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_is_0xff() {
        assert_eq!(encode(0), 0xFF);
        assert_eq!(decode(0xFF), 0);
    }

    #[test]
    fn reference_values() {
        // Values of the ITU reference decoder's table.
        assert_eq!(decode(0x00), -32_124);
        assert_eq!(decode(0x80), 32_124);
        assert_eq!(decode(0x7E), -8);
        assert_eq!(decode(0xFE), 8);
        assert_eq!(encode(i16::MAX), 0x80);
        assert_eq!(encode(i16::MIN), 0x00);
        assert_eq!(encode(-1), 0x7F);
    }

    #[test]
    fn every_code_round_trips() {
        for code in 0..=255u8 {
            // 0x7F is "negative zero": it decodes to 0, which encodes as 0xFF.
            let expected = if code == 0x7F { 0xFF } else { code };
            assert_eq!(encode(decode(code)), expected, "code {code:#04x}");
        }
    }

    #[test]
    fn quantisation_error_is_small() {
        for s in (-32_000i32..32_000).step_by(97) {
            let s = s as i16;
            let back = i32::from(decode(encode(s)));
            let err = (back - i32::from(s)).abs();
            // The step in the top segment is 1 024; the error is within half of it.
            assert!(err <= 1_024, "{s} -> {back}");
            assert!(err <= i32::from(s).abs() / 16 + 8, "{s} -> {back}");
        }
    }
}
