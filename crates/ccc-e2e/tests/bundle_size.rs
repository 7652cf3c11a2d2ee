//! The release bundle (wasm + JS + CSS) stays under the gzip ratchet
//! (`bundle::LIMIT_GZIP_BYTES`: the last measured size plus 8 KiB).

use ccc_e2e::{
    bundle::{self, LIMIT_GZIP_BYTES},
    workspace_root,
};

#[test]
fn release_bundle_is_under_the_gzip_ratchet() {
    let assets = bundle::assets(&workspace_root().join("dist")).unwrap();
    let total: usize = assets.iter().map(|a| a.gzip).sum();
    for a in &assets {
        eprintln!("{:<48} {:>8} B raw {:>8} B gzip", a.name, a.raw, a.gzip);
    }
    eprintln!("total gzip: {total} B (ratchet {LIMIT_GZIP_BYTES} B)");
    assert!(
        total <= LIMIT_GZIP_BYTES,
        "bundle is {total} B gzip, over the {LIMIT_GZIP_BYTES} B ratchet: if the growth is \
         worth it, raise LIMIT_GZIP_BYTES in crates/ccc-e2e/src/bundle.rs to the new size \
         plus 8 KiB in this commit, saying why"
    );
    assert!(
        assets.iter().any(|a| a.name.ends_with(".js")),
        "JS glue present"
    );
}
