//! Sizes of the release bundle in `dist/`.

use std::{io::Write, path::Path};

use flate2::{write::GzEncoder, Compression};

/// One file of the bundle.
#[derive(Debug, Clone)]
pub struct Asset {
    /// File name.
    pub name: String,
    /// Bytes on disk.
    pub raw: usize,
    /// Bytes after gzip -9.
    pub gzip: usize,
    /// Bytes of the pre-compressed `.br` sibling (brotli -q 11) that
    /// scripts/build-widget.sh writes, when present.
    pub brotli: Option<usize>,
}

/// The bundle-size ratchet: wasm + JS + CSS, gzip -9 (tests/bundle_size.rs).
///
/// Issue 21 settled issue 10: the test holds what was reached, not a goal.
/// The value is the size measured by the commit that last changed it plus
/// 8 KiB of headroom, so everyday code is written plainly; a change that
/// needs more raises it, and one that saves a lot lowers it, deliberately,
/// in that commit, with the new measurement here:
/// - issue 21 (2026-12-06): 213,683 B by this test (gzip -9 211,470 B,
///   brotli 167,685 B) for the nightly release build of scripts/build-widget.sh
///   with the first state inlined and serde-encoded events, + 8,192 B.
/// - issues 16, 17, 20 and 21 merged (2026-12-06): 324,328 B by this test
///   (wasm 310,608 B, JS 10,114 B, CSS 3,606 B gzip), + 8,192 B. Raised, not
///   hunted down: the browser softphone (ccc-sip, WebRTC/WebSocket/media
///   bindings, its UI) measured about +75 KB on its branch, the status menu /
///   call card / settings rewrite with the store about +45 KB on its branch,
///   the bounded CCC text about +10 KB; where the bytes are is the next size
///   work (docs/widget.md), against issue 21's 170 KB goal.
/// - issue 21, `agentui` (2026-12-07): 330,472 B by this test (wasm
///   316,691 B, JS 10,114 B, CSS 3,667 B gzip), + 8,192 B. Raised: every
///   JSON at a boundary is now a serde type decoded by derive (mount
///   options, the tabs' messages, the stored recent calls), +6,023 B against
///   the hand-written `Reflect` code it replaced (docs/widget.md).
/// - issue 18's widget (transfer panel, consult card, keypad, `ccc:transfer`,
///   `handle.transfer`; 2026-12-07, branch `xferui` with `xfer` merged):
///   364,075 B by this test, +39,747 B over the line above (365,817 B before
///   the panels' three `<Show>`s became plain `move ||` closures: -1,742 B),
///   plus 8,192 B. Raised, not hunted down; twiggy (raw wasm, -Oz): the transfer
///   panel 29 KB, the call-more slot 13 KB, the consult card 8 KB, the keypad
///   6 KB, and about 31 KB of generic tachys/reactive_graph instantiations for
///   their views (docs/widget.md).
/// - issues 18, 20 and 21 merged (2026-12-07): 372,002 B by this test (wasm
///   357,740 B, JS 10,251 B, CSS 4,011 B gzip), plus 8,192 B: the two
///   branches above together, the softphone's relay ticket and its in-band
///   keypad tones.
pub const LIMIT_GZIP_BYTES: usize = 372_002 + 8 * 1024;

/// Issue 21's goal, reported by `make bench` (not enforced): 170 KB gzip.
pub const GOAL_GZIP_BYTES: usize = 170_000;

/// The wasm, JS and CSS files of `dist/` (not the pre-compressed siblings).
pub fn assets(dist: &Path) -> Result<Vec<Asset>, String> {
    let entries = std::fs::read_dir(dist).map_err(|e| {
        format!(
            "{}: {e}; build the widget first (scripts/build-widget.sh)",
            dist.display()
        )
    })?;
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if !(name.ends_with(".wasm") || name.ends_with(".js") || name.ends_with(".css")) {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let brotli = std::fs::metadata(dist.join(format!("{name}.br")))
            .ok()
            .map(|m| m.len() as usize);
        out.push(Asset {
            name,
            raw: bytes.len(),
            gzip: gzip_len(&bytes),
            brotli,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    if !out.iter().any(|a| a.name.ends_with(".wasm")) {
        return Err(format!(
            "no .wasm in {}; build the widget first (scripts/build-widget.sh)",
            dist.display()
        ));
    }
    Ok(out)
}

/// Length of `bytes` compressed with gzip level 9.
pub fn gzip_len(bytes: &[u8]) -> usize {
    let mut enc = GzEncoder::new(Vec::new(), Compression::best());
    enc.write_all(bytes).expect("in-memory write");
    enc.finish().expect("in-memory gzip").len()
}
